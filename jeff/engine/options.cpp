#include <jeff/engine/options.hpp>

#include <jeff/detail/sealed_record.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace jeff::engine {
namespace {

bool IsPrintableNoSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// A path that may stand unescaped in a structured-field string and in JSON.
bool IsEndpointPath(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 1024) return false;
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ';' || c == ',') return false;
  }
  return true;
}

void ValidateDeviceBinding(const Options& o) {
  const DeviceBindingOptions& db = o.device_binding;
  if (!db.enabled) return;
  RequireOption(IsEndpointPath(db.registration_path) && IsEndpointPath(db.refresh_path),
                "device_binding paths must be absolute paths of printable ASCII without spaces, '\"', '\\', "
                "';' or ','");
  RequireOption(db.registration_path != db.refresh_path, "device_binding paths must differ");
  RequireOption(db.cookie_name != o.cookie.name, "device_binding.cookie_name must differ from cookie.name");
  CookieOptions bound = o.cookie;
  bound.name = db.cookie_name;
  ValidateCookieOptions(bound);
  RequireOption(db.cookie_lifetime >= std::chrono::seconds(1) && db.cookie_lifetime <= std::chrono::hours(24),
                "device_binding.cookie_lifetime must be 1 s to 1 day");
  RequireOption(db.challenge_lifetime >= std::chrono::seconds(1) && db.challenge_lifetime <= std::chrono::hours(1),
                "device_binding.challenge_lifetime must be 1 s to 1 hour");
  RequireOption(db.max_proof_bytes >= 1024 && db.max_proof_bytes <= 64 * 1024,
                "device_binding.max_proof_bytes must be 1 KiB to 64 KiB");
  for (unsigned char c : db.scope_origin) {
    RequireOption(c > 0x20 && c < 0x7f, "device_binding.scope_origin must be printable ASCII without spaces");
  }
}

}  // namespace

void RequireOption(bool ok, const char* message) {
  if (!ok) throw std::invalid_argument(std::string("jeff::Options: ") + message);
}

void RequireNoDeviceBinding(const Options& options) {
  RequireOption(!options.device_binding.enabled,
                "device_binding needs the stateful strategy (the store keeps the device key)");
}

// Applies defaults and rejects unusable settings, once, at start-up.
Options ValidateOptions(Options o) {
  if (!o.clock) o.clock = SystemClock();
  if (!o.logger) {
    o.logger = [](std::string_view line) {
      std::fprintf(stderr, "jeff: %.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  RequireOption(!o.cookie.partitioned || !o.insecure,
          "cookie.partitioned requires Secure, so it cannot be combined with insecure (plain-HTTP) "
          "mode");
  if (o.insecure) {
    o.cookie.secure = false;
    o.logger("WARNING: insecure mode: the session cookie is sent without Secure, over plain "
             "HTTP. Use this for local development only.");
    if (o.on_event) {
      Event event;
      event.kind = Event::Kind::kInsecureMode;
      try {
        o.on_event(event);
      } catch (...) {
        // The hook is for logging: its failure must not change the outcome.
      }
    }
  }
  RequireOption(o.cookie.secure || o.insecure,
          "cookie.secure is off; set Options::insecure for plain-HTTP development");
  ValidateCookieOptions(o.cookie);
  RequireOption(o.max_age.count() >= 0, "max_age must not be negative");
  // Browsers keep no cookie longer than 400 days, and beyond that a session
  // would outlive any cookie that carries it; the bound also keeps every
  // computed time far inside what a TimePoint holds.
  RequireOption(o.max_age <= kMaxCookieLifetime && o.session_cookie_lifetime <= kMaxCookieLifetime &&
              o.idle_timeout <= kMaxCookieLifetime && o.touch_interval <= kMaxCookieLifetime,
          "max_age, session_cookie_lifetime, idle_timeout and touch_interval must be at most 400 days "
          "(jeff::kMaxCookieLifetime, the cap browsers apply to cookies)");
  RequireOption(o.max_age.count() > 0 || o.session_cookie_lifetime.count() > 0,
          "session_cookie_lifetime must be positive when max_age is 0");
  RequireOption(o.idle_timeout.count() >= 0 && o.touch_interval.count() >= 0,
          "idle_timeout and touch_interval must not be negative");
  RequireOption(o.idle_timeout.count() == 0 || o.touch_interval < o.idle_timeout,
          "touch_interval must be shorter than idle_timeout");
  RequireOption(o.idle_timeout.count() == 0 || o.touch_interval.count() > 0,
          "an idle_timeout needs a touch_interval (activity must be recorded)");
  RequireOption(!o.key_prefix.empty() && o.key_prefix.size() <= 200 && IsPrintableNoSpace(o.key_prefix),
          "key_prefix must be 1-200 printable characters without whitespace");
  RequireOption(o.cas_attempts >= 1, "cas_attempts must be at least 1");
  RequireOption(o.metrics_timed_one_in >= 1, "metrics_timed_one_in must be at least 1");
  RequireOption(o.cas_backoff.count() >= 0, "cas_backoff must not be negative");
  RequireOption(o.max_key_bytes >= 1, "max_key_bytes must be positive");
  for (std::size_t i = 0; i < o.read_peppers.size(); ++i) {
    RequireOption(o.read_peppers[i] != o.pepper &&
                      std::find(o.read_peppers.begin(), o.read_peppers.begin() + static_cast<std::ptrdiff_t>(i),
                                o.read_peppers[i]) == o.read_peppers.begin() + static_cast<std::ptrdiff_t>(i),
                  "read_peppers must differ from each other and from pepper");
  }
  ValidateDeviceBinding(o);
  ValidateAtRest(o.at_rest);
  return o;
}

}  // namespace jeff::engine
