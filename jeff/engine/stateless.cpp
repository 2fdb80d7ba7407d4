#include <jeff/engine/stateless.hpp>

#include <jeff/engine/observer.hpp>

#include <jeff/claims.hpp>
#include <jeff/detail/bearer.hpp>
#include <jeff/detail/json.hpp>
#include <jeff/jwe.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace jeff::engine {
using namespace jeff::detail;  // NOLINT: the leaf internals this strategy is built from
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Auth.js splits cookie values into chunks of 4096 - 160 characters.
constexpr std::size_t kChunkChars = 3936;
// Cookies of the session's name tried per request (paths/domains overlap).
constexpr std::size_t kMaxCandidates = 4;
// The denylist entry outlives the last token it covers by this much, so that
// a refresh racing the revocation is covered too.
constexpr seconds kDenylistMargin{60};

// The registered claims jeff reads; views into the thread's JSON parser.
struct TokenClaims {
  std::string_view sub;
  std::string_view sid;
  std::string_view jti;
  std::string_view meta;
  std::optional<double> iat;
  std::optional<double> exp;
  std::optional<double> nbf;
  std::optional<double> auth_time;  // OpenID Connect's: the last authentication
};

// NumericDate claims must be numbers, string claims strings (as jose checks).
bool ReadClaims(const simdjson::dom::object& object, TokenClaims& out) {
  for (const auto field : object) {
    const std::string_view k = field.key;
    std::string_view* text = k == "sub" ? &out.sub : k == "sid" ? &out.sid : k == "jti" ? &out.jti
                             : k == "meta" ? &out.meta : nullptr;
    std::optional<double>* number = k == "iat"         ? &out.iat
                                    : k == "exp"       ? &out.exp
                                    : k == "nbf"       ? &out.nbf
                                    : k == "auth_time" ? &out.auth_time
                                                       : nullptr;
    if (text != nullptr && field.value.get_string().get(*text) != simdjson::SUCCESS) return false;
    if (number != nullptr) {
      double value = 0;
      if (field.value.get_double().get(value) != simdjson::SUCCESS || !std::isfinite(value)) return false;
      *number = value;
    }
  }
  return true;
}

// A NumericDate in Unix ms, or nullopt when a TimePoint cannot hold it
// (past April 2262 or before 1678): such a token is refused, not wrapped.
std::optional<std::int64_t> ToMillis(std::optional<double> seconds_since_epoch) {
  if (!seconds_since_epoch) return std::nullopt;
  const double ms = *seconds_since_epoch * 1000.0;
  if (!(ms >= -static_cast<double>(kMaxUnixMillis) && ms <= static_cast<double>(kMaxUnixMillis))) return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

// The token's times are all representable (see ToMillis).
bool TimesInRange(const TokenClaims& tc) {
  return (!tc.exp || ToMillis(tc.exp)) && (!tc.iat || ToMillis(tc.iat)) && (!tc.nbf || ToMillis(tc.nbf)) &&
         (!tc.auth_time || ToMillis(tc.auth_time));
}

std::int64_t UnixSeconds(TimePoint t) {
  return std::chrono::floor<seconds>(t).time_since_epoch().count();
}

// Shared claims for handlers, with simdjson's padding room reserved up front.
std::shared_ptr<const Claims> MakeClaims(std::string_view json) {
  std::string text;
  text.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  text.assign(json);
  return std::make_shared<const Claims>(std::move(text));
}

class StatelessStrategy final : public Strategy {
 public:
  explicit StatelessStrategy(Options options)
      : options_(std::move(options)),
        codec_(MakeCodec(options_)),
        lifetime_(Lifetime(options_)),
        max_token_lifetime_(std::max(lifetime_, options_.stateless.max_token_lifetime)),
        observer_(options_) {
    const StatelessOptions& s = options_.stateless;
    if (s.skew.count() < 0) throw std::invalid_argument("jeff::Options: stateless.skew must not be negative");
    if (s.skew > kMaxCookieLifetime || s.max_token_lifetime.count() <= 0 || s.max_token_lifetime > kMaxCookieLifetime) {
      throw std::invalid_argument(
          "jeff::Options: stateless.max_token_lifetime must be positive and, like stateless.skew, at most 400 days");
    }
    if (s.max_token_chars < 512) {
      throw std::invalid_argument("jeff::Options: stateless.max_token_chars must be at least 512");
    }
    const std::size_t chunks = (s.max_token_chars + kChunkChars - 1) / kChunkChars;
    // One more name than can be written, so that an over-long chain is seen.
    for (std::size_t i = 0; i <= chunks; ++i) chunk_names_.push_back(options_.cookie.name + "." + std::to_string(i));
  }

  const Options& options() const noexcept override { return options_; }

  MetricsSnapshot metrics() const override { return observer_.Snapshot(); }

  Result<Issued> Set(std::string_view key, std::string_view meta,
                     std::optional<std::chrono::seconds> max_age) override {
    // A token carries no lifetime of its own: a refresh renews it from
    // Options::max_age (see SetOptions).
    if (max_age && *max_age != options_.max_age) return Errc::kUnsupported;
    if (key.empty() || key.size() > options_.max_key_bytes) return Errc::kInvalidArgument;
    if (meta.size() > options_.max_meta_bytes) return Errc::kInvalidArgument;
    const TimePoint now = options_.clock();
    nlohmann::json claims = nlohmann::json::object();
    const std::string sid = FormatSessionId(NewSessionId());
    if (!meta.empty()) claims["meta"] = meta;
    claims["auth_time"] = UnixSeconds(now);
    if (auto edited = RunJwtCallback(JwtTrigger::kSignIn, key, sid, claims); !edited) return edited.error();
    auto token = Issue(claims, key, sid, now);
    if (!token) return token.error();

    Issued issued;
    issued.session = SessionOf(claims, key, sid, meta);
    if (auto shaped = Shape(issued.session, claims); !shaped) return shaped.error();
    issued.set_cookie = TokenCookies(*token, std::nullopt, now);
    issued.token = *token;
    observer_.SetDone();
    return issued;
  }

  CheckResult Check(std::string_view cookie_header) override {
    CheckResult result = CheckCookies(cookie_header);
    observer_.Checked(result.status);
    return result;
  }

  CheckResult CheckBearer(std::string_view authorization_header) override {
    CheckResult result = CheckAuthorization(authorization_header);
    observer_.Checked(result.status);
    return result;
  }

  CheckResult CheckCookies(std::string_view cookie_header) const {
    CheckResult result;
    // A stale cookie (another path, or left over from before chunking) must
    // not hide a live one: every candidate is tried, the first answer kept.
    for (std::string_view value : FindCookies(cookie_header, options_.cookie.name, kMaxCandidates)) {
      if (value.empty()) continue;
      CheckResult next = CheckToken(value, cookie_header);
      if (next.ok() || next.status == CheckStatus::kStoreError) return next;
      if (result.status == CheckStatus::kAbsent) result = std::move(next);
    }
    thread_local std::string joined;
    switch (JoinChunks(cookie_header, joined)) {
      case Chunks::kNone: return result;
      case Chunks::kTooLong:
        if (result.status == CheckStatus::kAbsent) result.status = CheckStatus::kMalformed;
        return result;
      case Chunks::kJoined: {
        CheckResult chunked = CheckToken(joined, cookie_header);
        const bool decisive = chunked.ok() || chunked.status == CheckStatus::kStoreError;
        return decisive || result.status == CheckStatus::kAbsent ? chunked : result;
      }
    }
    return result;
  }

  CheckResult CheckAuthorization(std::string_view authorization_header) const {
    CheckResult result;
    if (!options_.stateless.bearer) return result;
    const std::optional<std::string_view> token = detail::BearerToken(authorization_header);
    if (!token) return result;  // another scheme: not ours to judge
    return CheckToken(*token, {}, /*may_refresh=*/false);
  }

  Result<std::vector<std::string>> Clear(std::string_view cookie_header) override {
    if (options_.stateless.denylist) {
      std::vector<std::string_view> tokens = FindCookies(cookie_header, options_.cookie.name, kMaxCandidates);
      std::string joined;
      if (JoinChunks(cookie_header, joined) == Chunks::kJoined) tokens.push_back(joined);
      for (std::string_view token : tokens) {
        if (auto denied = DenyToken(token); !denied) return denied.error();
      }
    }
    observer_.Cleared();
    return ExpiredCookies(cookie_header);
  }

  Result<std::size_t> DeleteAll(std::string_view) override { return Errc::kUnsupported; }

  Result<std::size_t> DeleteSome(std::string_view key, std::span<const SessionId> ids) override {
    if (!options_.stateless.denylist) return Errc::kUnsupported;
    if (key.empty() || key.size() > options_.max_key_bytes) return Errc::kInvalidArgument;
    // Counts the ids newly denied: whether an id names a token still out
    // there cannot be known without a store of sessions.
    std::size_t denied = 0;
    for (const SessionId& id : ids) {
      auto added = Deny(FormatSessionId(id), key);
      if (!added) return added.error();
      denied += *added ? 1 : 0;
    }
    observer_.Deleted(denied);
    return denied;
  }

  Result<std::vector<Session>> SessionsForKey(std::string_view) override { return Errc::kUnsupported; }

  Result<Issued> Rotate(std::string_view) override { return Errc::kUnsupported; }

 private:
  enum class Chunks { kNone, kTooLong, kJoined };

  static JweCodec MakeCodec(const Options& options) {
    const StatelessOptions& s = options.stateless;
    if (s.secrets.empty() && s.keys.empty()) {
      throw std::invalid_argument(
          "jeff::Options: stateless sessions need stateless.secrets (or stateless.keys), "
          "or give a store for stateful sessions");
    }
    const auto weak = std::count_if(s.secrets.begin(), s.secrets.end(),
                                    [](const std::string& secret) { return IsWeakJweSecret(secret); });
    if (weak > 0 && s.allow_weak_secrets) {
      options.logger("WARNING: stateless.allow_weak_secrets: " + std::to_string(weak) + " of " +
                     std::to_string(s.secrets.size()) +
                     " secrets are shorter than 32 bytes and can be guessed offline from one token. "
                     "Rotate: a new secret of 32 random bytes or more first, the old one second, "
                     "until its tokens expire.");
    }
    JweOptions jwe;
    jwe.secrets = s.secrets;
    jwe.allow_weak_secrets = s.allow_weak_secrets;
    jwe.keys = s.keys;
    jwe.salt = s.salt.empty() ? options.cookie.name : s.salt;
    jwe.enc = s.enc;
    jwe.accept_other_enc = s.accept_other_enc;
    jwe.max_token_chars = s.max_token_chars;
    return JweCodec(std::move(jwe));
  }

  static seconds Lifetime(const Options& o) {
    seconds lifetime = o.max_age.count() > 0 ? o.max_age : o.session_cookie_lifetime;
    if (o.idle_timeout.count() > 0) lifetime = std::min(lifetime, o.idle_timeout);
    return lifetime;
  }

  // `<name>.0`, `<name>.1`, ... joined in order, as Auth.js reads them.
  Chunks JoinChunks(std::string_view cookie_header, std::string& joined) const {
    joined.clear();
    for (std::size_t i = 0; i < chunk_names_.size(); ++i) {
      const auto chunk = FindCookie(cookie_header, chunk_names_[i]);
      if (!chunk) return i == 0 ? Chunks::kNone : Chunks::kJoined;
      if (i + 1 == chunk_names_.size() || joined.size() + chunk->size() > options_.stateless.max_token_chars) {
        return Chunks::kTooLong;
      }
      joined.append(*chunk);
    }
    return Chunks::kJoined;
  }

  // Expiring Set-Cookie values for chunks `from`, `from + 1`, ... that the
  // request carries (as Auth.js cleans up), appended to `out`.
  void ExpireChunks(std::string_view cookie_header, std::size_t from, std::vector<std::string>& out) const {
    for (std::size_t i = from; i < chunk_names_.size(); ++i) {
      if (FindCookie(cookie_header, chunk_names_[i])) out.push_back(BuildExpiredCookie(options_.cookie, chunk_names_[i]));
    }
  }

  // Set-Cookie values deleting the session cookie and the chunks the request has.
  std::vector<std::string> ExpiredCookies(std::string_view cookie_header) const {
    std::vector<std::string> cookies{BuildExpiredCookie(options_.cookie, options_.cookie.name)};
    ExpireChunks(cookie_header, 0, cookies);
    return cookies;
  }

  // The Set-Cookie values carrying `token`, split when longer than a chunk,
  // and expiring what would otherwise be read with it: chunks the request
  // (when known) carries beyond the new ones, or, when the request is not
  // known, the unchunked cookie and every higher chunk.
  std::vector<std::string> TokenCookies(std::string_view token, std::optional<std::string_view> request,
                                        TimePoint now) const {
    std::vector<std::string> cookies;
    const std::string& name = options_.cookie.name;
    if (token.size() <= kChunkChars) {
      cookies.push_back(BuildSetCookie(options_.cookie, name, token, options_.max_age, now));
      if (request) ExpireChunks(*request, 0, cookies);
      return cookies;
    }
    const std::size_t count = (token.size() + kChunkChars - 1) / kChunkChars;
    for (std::size_t i = 0; i < count; ++i) {
      cookies.push_back(BuildSetCookie(options_.cookie, chunk_names_[i], token.substr(i * kChunkChars, kChunkChars),
                                       options_.max_age, now));
    }
    if (request) {
      if (FindCookie(*request, name)) cookies.push_back(BuildExpiredCookie(options_.cookie, name));
      ExpireChunks(*request, count, cookies);
    } else {
      cookies.push_back(BuildExpiredCookie(options_.cookie, name));
      for (std::size_t i = count; i + 1 < chunk_names_.size(); ++i) {
        cookies.push_back(BuildExpiredCookie(options_.cookie, chunk_names_[i]));
      }
    }
    return cookies;
  }

  // Runs the JWT callback; exceptions and non-objects are failures.
  Result<void> RunJwtCallback(JwtTrigger trigger, std::string_view key, std::string_view sid,
                              nlohmann::json& claims) const {
    claims["sub"] = key;
    if (!sid.empty()) claims["sid"] = sid;
    if (!options_.stateless.jwt_callback) return {};
    try {
      auto done = options_.stateless.jwt_callback(trigger, key, claims);
      if (!done) return done;
    } catch (const std::exception& e) {
      options_.logger(std::string("stateless jwt_callback threw: ") + e.what());
      return Errc::kInvalidArgument;
    }
    if (!claims.is_object()) return Errc::kInvalidArgument;
    return {};
  }

  // Stamps the claims jeff owns and encrypts them.
  Result<std::string> Issue(nlohmann::json& claims, std::string_view key, std::string_view sid, TimePoint now) const {
    claims["sub"] = key;
    if (!sid.empty()) claims["sid"] = sid;
    const std::int64_t iat = UnixSeconds(now);
    claims["iat"] = iat;
    claims["exp"] = iat + lifetime_.count();
    claims["jti"] = FormatSessionId(NewSessionId());
    std::string plaintext;
    try {
      plaintext = claims.dump();
    } catch (const nlohmann::json::exception&) {
      return Errc::kInvalidArgument;  // not UTF-8 (key, meta or a callback's claim)
    }
    auto token = codec_.Encrypt(plaintext);
    if (!token) return token;
    if (token->size() > options_.stateless.max_token_chars) return Errc::kValueTooLarge;
    return token;
  }

  // The Session of freshly issued `claims`.
  Session SessionOf(const nlohmann::json& claims, std::string_view key, std::string_view sid,
                    std::string_view meta) const {
    Session session;
    session.persistent = options_.max_age.count() > 0;
    session.key.assign(key);
    session.id = ParseSessionId(sid).value_or(SessionId{});
    session.created = session.last_seen = session.authenticated_at =
        TimePoint(seconds(claims.at("iat").get<std::int64_t>()));
    // Set's login is the authentication (the auth_time it stamped).
    if (const auto at = claims.find("auth_time"); at != claims.end() && at->is_number_integer()) {
      session.authenticated_at = TimePoint(seconds(at->get<std::int64_t>()));
    }
    session.expires = TimePoint(seconds(claims.at("exp").get<std::int64_t>()));
    session.meta.assign(meta);
    return session;
  }

  // Fills session.claims from `claims`, through the session callback if any.
  Result<void> Shape(Session& session, nlohmann::json& claims) const {
    try {
      if (options_.stateless.session_callback) options_.stateless.session_callback(session, claims);
      session.claims = MakeClaims(claims.dump());
    } catch (const std::exception& e) {
      options_.logger(std::string("stateless session_callback threw: ") + e.what());
      return Errc::kInvalidArgument;
    }
    return {};
  }

  CheckResult CheckToken(std::string_view token, std::optional<std::string_view> cookie_header,
                         bool may_refresh = true) const {
    CheckResult result;
    result.status = CheckStatus::kMalformed;
    if (token.size() > options_.stateless.max_token_chars || std::count(token.begin(), token.end(), '.') != 4) {
      return result;
    }
    result.status = CheckStatus::kUnknown;
    thread_local std::string plaintext;
    plaintext.reserve(token.size() + simdjson::SIMDJSON_PADDING);
    if (!codec_.Decrypt(token, plaintext)) return result;

    simdjson::dom::object object;
    TokenClaims tc;
    if (!ParseJsonObject(plaintext, object) || !ReadClaims(object, tc) || tc.sub.empty() || !tc.exp ||
        !TimesInRange(tc)) {
      return result;
    }
    const TimePoint now = options_.clock();
    const std::int64_t now_ms = ToUnixMillis(now);
    const std::int64_t skew_ms = milliseconds(options_.stateless.skew).count();
    const std::int64_t exp_ms = *ToMillis(tc.exp);  // all |values| <= kMaxUnixMillis: no overflow below
    if (exp_ms + skew_ms <= now_ms) {
      result.status = CheckStatus::kExpired;
      return result;
    }
    if (tc.nbf && *ToMillis(tc.nbf) - skew_ms > now_ms) return result;  // not yet valid
    // A token that could outlive a denylist entry made now could come back
    // after its revocation: refused while revocation is on.
    if (options_.stateless.denylist && exp_ms - now_ms > milliseconds(max_token_lifetime_ + options_.stateless.skew).count()) {
      return result;
    }

    // The session's identity: `sid`, or for a token without one (Auth.js
    // writes none) its `jti`, which a refresh carries on as `sid`.
    // Views into the parser end here: callbacks below may parse JSON too.
    const std::string sid(tc.sid.empty() ? tc.jti : tc.sid);
    Session& session = result.session;
    session.key.assign(tc.sub);
    session.id = ParseSessionId(sid).value_or(SessionId{});
    session.created = session.last_seen = FromUnixMillis(tc.iat ? *ToMillis(tc.iat) : 0);
    // A refresh moves iat, never auth_time; a token without it (Auth.js's)
    // has no known authentication: the epoch, so step-up routes ask again.
    session.authenticated_at = FromUnixMillis(tc.auth_time ? *ToMillis(tc.auth_time) : 0);
    session.expires = FromUnixMillis(exp_ms);
    session.meta.assign(tc.meta);
    session.persistent = options_.max_age.count() > 0;

    if (options_.stateless.denylist && !sid.empty()) {
      // Revocations are written under Options::pepper; a server that had
      // another pepper wrote them under that one, so each ring entry is read.
      for (std::size_t i = 0; i <= options_.read_peppers.size(); ++i) {
        const std::string deny_key = DenyKey(sid, session.key, i == 0 ? options_.pepper : options_.read_peppers[i - 1]);
        const auto start = observer_.StartCall(StoreOp::kFetch);
        auto entry = options_.stateless.denylist->Fetch(deny_key);
        observer_.EndCall(StoreOp::kFetch, start, entry.error(), deny_key);
        if (!entry) return StoreFailure(entry.error());
        if (entry->has_value()) {  // revoked: never refreshed either
          observer_.Denied(session.key);
          return result;
        }
      }
    }

    const seconds touch = options_.touch_interval;
    const bool refresh = may_refresh && touch.count() > 0 && now - session.last_seen >= touch;
    if (!refresh && !options_.stateless.session_callback) {
      session.claims = MakeClaims(plaintext);
      result.status = CheckStatus::kOk;
      return result;
    }
    nlohmann::json claims = nlohmann::json::parse(plaintext, nullptr, /*allow_exceptions=*/false);
    if (!claims.is_object()) return result;
    if (refresh) {
      if (auto edited = RunJwtCallback(JwtTrigger::kUpdate, session.key, sid, claims); !edited) {
        if (IsStoreError(edited.error())) return StoreFailure(edited.error());
        if (cookie_header) result.set_cookie = ExpiredCookies(*cookie_header);
        return result;  // kUnknown: the application ended this session
      }
      // A failed re-issue (crypto failure, claims grown too large) keeps the
      // current token, which is still valid.
      if (auto reissued = Issue(claims, session.key, sid, now)) {
        session.created = session.last_seen = now;
        session.expires = TimePoint(seconds(claims["exp"].get<std::int64_t>()));
        result.set_cookie = TokenCookies(*reissued, cookie_header, now);
        observer_.TokenRefreshed();
      }
    }
    if (!Shape(session, claims)) return result;
    result.status = CheckStatus::kOk;
    return result;
  }

  static CheckResult StoreFailure(std::error_code error) {
    CheckResult result;
    result.status = CheckStatus::kStoreError;
    result.error = error;
    return result;
  }

  // `<prefix>deny:<22 characters>`, naming session `id` of `key` only (so
  // that revoking an id under one key cannot touch another key's session),
  // short enough for any store whatever the id and key.
  std::string DenyKey(std::string_view id, std::string_view key, std::string_view pepper) const {
    std::string subject = std::to_string(id.size());
    subject.append(":").append(id).append(key);
    return options_.key_prefix + "deny:" + KeyId(subject, pepper);
  }

  // Records that session `id` of `key` is revoked, until every token of it
  // that Check would still accept has expired: the longest lifetime a token
  // may claim, or `exp_ms` (a revoked token's own expiry) when later.
  // Returns false when it was revoked already (the entry was there); on a
  // denylist that waits for replicas that entry is then written again
  // (Rewrite), since it may be a write whose acknowledgement failed.
  Result<bool> Deny(std::string_view id, std::string_view key, std::optional<std::int64_t> exp_ms = std::nullopt) const {
    milliseconds ttl = max_token_lifetime_ + options_.stateless.skew + kDenylistMargin;
    if (exp_ms) {
      const std::int64_t left_ms = *exp_ms - ToUnixMillis(options_.clock());
      ttl = std::max(ttl, milliseconds(left_ms) + options_.stateless.skew + kDenylistMargin);
    }
    const std::string deny_key = DenyKey(id, key, options_.pepper);
    const auto start = observer_.StartCall(StoreOp::kCas);
    auto added = options_.stateless.denylist->CompareAndSwap(deny_key, std::nullopt, "1", ttl);
    observer_.EndAdd(start, added, deny_key);
    if (!added || *added || !options_.stateless.denylist->WaitsForReplicas()) return added;
    if (auto rewritten = Rewrite(deny_key, ttl); !rewritten) return rewritten.error();
    return false;
  }

  // Writes the entry `deny_key` again (a compare-and-swap on the version
  // read, or an add where it vanished meanwhile), so that the denylist's
  // acknowledgement covers it: Store::WaitsForReplicas. For one skew longer
  // than `ttl`: an entry written before for a token's own `exp` lives at
  // most that much longer than one without, and must not be shortened.
  Result<void> Rewrite(const std::string& deny_key, milliseconds ttl) const {
    Store& denylist = *options_.stateless.denylist;
    ttl += options_.stateless.skew;
    for (int attempt = 0; attempt < options_.cas_attempts; ++attempt) {
      auto start = observer_.StartCall(StoreOp::kFetch);
      auto entry = denylist.Fetch(deny_key);
      observer_.EndCall(StoreOp::kFetch, start, entry.error(), deny_key);
      if (!entry) return entry.error();
      const std::optional<Version> expected =
          entry->has_value() ? std::optional<Version>((*entry)->version) : std::nullopt;
      start = observer_.StartCall(StoreOp::kCas);
      auto swapped = denylist.CompareAndSwap(deny_key, expected, "1", ttl);
      observer_.EndSwap(start, swapped, deny_key);
      if (!swapped) return swapped.error();
      if (*swapped) return {};
    }
    return Errc::kConflict;
  }

  // Denies the session of `token` when it is a valid token of ours.
  Result<void> DenyToken(std::string_view token) const {
    std::string plaintext;
    simdjson::dom::object object;
    TokenClaims tc;
    if (token.size() > options_.stateless.max_token_chars || !codec_.Decrypt(token, plaintext)) return {};
    plaintext.reserve(plaintext.size() + simdjson::SIMDJSON_PADDING);
    if (!ParseJsonObject(plaintext, object) || !ReadClaims(object, tc) || tc.sub.empty() || !TimesInRange(tc)) {
      return {};
    }
    const std::string id(tc.sid.empty() ? tc.jti : tc.sid);
    if (id.empty()) return {};
    if (auto added = Deny(id, std::string(tc.sub), ToMillis(tc.exp)); !added) return added.error();
    return {};
  }

  Options options_;
  JweCodec codec_;
  seconds lifetime_;
  seconds max_token_lifetime_;  // lifetime_ or stateless.max_token_lifetime, the longer
  std::vector<std::string> chunk_names_;  // `<name>.0` ... one past the most a token needs
  mutable Observer observer_;  // counts only (per-thread slots): usable from const members
};

}  // namespace

std::unique_ptr<Strategy> MakeStatelessStrategy(Options options) {
  return std::make_unique<StatelessStrategy>(std::move(options));
}

}  // namespace jeff::engine
