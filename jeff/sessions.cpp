#include <jeff/sessions.hpp>

#include <jeff/detail/stateful.hpp>
#include <jeff/detail/stateless.hpp>

#include <cstdio>
#include <stdexcept>

namespace jeff {
namespace {

void Require(bool ok, const char* message) {
  if (!ok) throw std::invalid_argument(std::string("jeff::Options: ") + message);
}

bool IsPrintableNoSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Applies defaults and rejects unusable settings, once, at start-up.
Options Validate(Options o) {
  if (!o.clock) o.clock = SystemClock();
  if (!o.logger) {
    o.logger = [](std::string_view line) {
      std::fprintf(stderr, "jeff: %.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  if (o.insecure) {
    o.cookie.secure = false;
    o.logger("WARNING: insecure mode: the session cookie is sent without Secure, over plain "
             "HTTP. Use this for local development only.");
  }
  Require(o.cookie.secure || o.insecure,
          "cookie.secure is off; set Options::insecure for plain-HTTP development");
  ValidateCookieOptions(o.cookie);
  Require(o.max_age.count() >= 0, "max_age must not be negative");
  // Browsers keep no cookie longer than 400 days, and beyond that a session
  // would outlive any cookie that carries it; the bound also keeps every
  // computed time far inside what a TimePoint holds.
  Require(o.max_age <= kMaxCookieLifetime && o.session_cookie_lifetime <= kMaxCookieLifetime &&
              o.idle_timeout <= kMaxCookieLifetime && o.touch_interval <= kMaxCookieLifetime,
          "max_age, session_cookie_lifetime, idle_timeout and touch_interval must be at most 400 days "
          "(jeff::kMaxCookieLifetime, the cap browsers apply to cookies)");
  Require(o.max_age.count() > 0 || o.session_cookie_lifetime.count() > 0,
          "session_cookie_lifetime must be positive when max_age is 0");
  Require(o.idle_timeout.count() >= 0 && o.touch_interval.count() >= 0,
          "idle_timeout and touch_interval must not be negative");
  Require(o.idle_timeout.count() == 0 || o.touch_interval < o.idle_timeout,
          "touch_interval must be shorter than idle_timeout");
  Require(o.idle_timeout.count() == 0 || o.touch_interval.count() > 0,
          "an idle_timeout needs a touch_interval (activity must be recorded)");
  Require(!o.key_prefix.empty() && o.key_prefix.size() <= 200 && IsPrintableNoSpace(o.key_prefix),
          "key_prefix must be 1-200 printable characters without whitespace");
  Require(o.cas_attempts >= 1, "cas_attempts must be at least 1");
  Require(o.cas_backoff.count() >= 0, "cas_backoff must not be negative");
  Require(o.max_key_bytes >= 1, "max_key_bytes must be positive");
  return o;
}

}  // namespace

std::string_view ToString(CheckStatus status) noexcept {
  switch (status) {
    case CheckStatus::kOk: return "ok";
    case CheckStatus::kAbsent: return "absent";
    case CheckStatus::kMalformed: return "malformed";
    case CheckStatus::kUnknown: return "unknown";
    case CheckStatus::kExpired: return "expired";
    case CheckStatus::kStoreError: return "store error";
  }
  return "unknown status";
}

Sessions::Sessions(Options options) {
  options = Validate(std::move(options));
  const bool stateless = options.strategy == SessionStrategy::kStateless ||
                         (options.strategy == SessionStrategy::kAuto && options.store == nullptr);
  if (stateless) {
    strategy_ = detail::MakeStatelessStrategy(std::move(options));
    return;
  }
  Require(options.store != nullptr, "a store is required (e.g. OpenStore(\"memory://\"))");
  strategy_ = detail::MakeStatefulStrategy(std::move(options));
}

Sessions::~Sessions() = default;
Sessions::Sessions(Sessions&&) noexcept = default;
Sessions& Sessions::operator=(Sessions&&) noexcept = default;

Result<Issued> Sessions::Set(std::string_view key, std::string_view meta) {
  return strategy_->Set(key, meta, std::nullopt);
}

Result<Issued> Sessions::Set(std::string_view key, std::string_view meta, const SetOptions& set_options) {
  const std::optional<std::chrono::seconds> max_age = set_options.max_age;
  if (max_age && (max_age->count() < 0 || *max_age > kMaxCookieLifetime)) return Errc::kInvalidArgument;
  return strategy_->Set(key, meta, max_age);
}

CheckResult Sessions::Check(std::string_view cookie_header) { return strategy_->Check(cookie_header); }

CheckResult Sessions::CheckBearer(std::string_view authorization_header) {
  return strategy_->CheckBearer(authorization_header);
}

Result<std::vector<std::string>> Sessions::Clear(std::string_view cookie_header) {
  return strategy_->Clear(cookie_header);
}

Result<std::size_t> Sessions::Delete(std::string_view key) { return strategy_->DeleteAll(key); }

Result<std::size_t> Sessions::Delete(std::string_view key, std::span<const SessionId> ids) {
  return strategy_->DeleteSome(key, ids);
}

Result<std::vector<Session>> Sessions::SessionsForKey(std::string_view key) {
  return strategy_->SessionsForKey(key);
}

Result<Issued> Sessions::Rotate(std::string_view cookie_header) { return strategy_->Rotate(cookie_header); }

const Options& Sessions::options() const noexcept { return strategy_->options(); }

}  // namespace jeff
