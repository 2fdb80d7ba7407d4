#include <jeff/engine/device_binding.hpp>

#include <jeff/detail/session_cookie.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace jeff::engine {
namespace {

using detail::DbscProofError;
using std::chrono::milliseconds;

constexpr std::size_t kNonceBytes = 32;
constexpr std::size_t kBoundTokenChars = Base64UrlLength(kTokenBytes);

std::int64_t Millis(std::chrono::seconds d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

std::string Quoted(std::string_view text) { return '"' + std::string(text) + '"'; }

// The attributes of the bound cookie as the configuration JSON gives them:
// the session cookie's, without Max-Age (which the browser ignores there).
std::string CookieAttributes(const Options& options, TimePoint now) {
  const std::string& name = options.device_binding.cookie_name;
  std::string set_cookie = BuildSetCookie(options.cookie, name, "", std::chrono::seconds(0), now);
  const std::size_t skip = name.size() + 1;  // "<name>="
  std::string_view attributes = std::string_view(set_cookie).substr(skip);
  if (attributes.starts_with("; ")) attributes.remove_prefix(2);
  return std::string(attributes);
}

// The session configuration (W3C DBSC "session instructions"): sent at
// registration and after every refresh, identical each time.
std::string SessionConfiguration(const Options& options, const SessionId& id, TimePoint now) {
  const DeviceBindingOptions& db = options.device_binding;
  nlohmann::json scope = {{"include_site", db.include_site}, {"scope_specification", nlohmann::json::array()}};
  if (!db.scope_origin.empty()) scope["origin"] = db.scope_origin;
  const nlohmann::json config = {
      {"session_identifier", FormatSessionId(id)},
      {"refresh_url", db.refresh_path},
      {"scope", std::move(scope)},
      {"credentials",
       nlohmann::json::array({{{"type", "cookie"}, {"name", db.cookie_name},
                               {"attributes", CookieAttributes(options, now)}}})},
  };
  return config.dump();
}

DeviceBindingResponse Answer(int status) {
  DeviceBindingResponse response;
  response.status = status;
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

DeviceBindingResponse JsonAnswer(int status, std::string body) {
  DeviceBindingResponse response = Answer(status);
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

int RefusalStatus(DbscProofError error) {
  return error == DbscProofError::kTooLarge || error == DbscProofError::kMalformed ? 400 : 403;
}

bool ChallengeLive(const std::optional<StoredChallenge>& challenge, std::int64_t now_ms) {
  return challenge && now_ms < challenge->expires_ms;
}

}  // namespace

StoredChallenge NewDeviceChallenge(const Options& options, std::int64_t now_ms) {
  StoredChallenge challenge;
  challenge.nonce.resize(kNonceBytes);
  RandomBytes(challenge.nonce);
  challenge.expires_ms = std::min(now_ms + Millis(options.device_binding.challenge_lifetime), kMaxUnixMillis);
  return challenge;
}

std::pair<std::string, std::string> RegistrationHeader(const Options& options, const StoredChallenge& challenge) {
  // A structured-field list (RFC 8941): the algorithms, then parameters.
  return {"Secure-Session-Registration", "(ES256 RS256);path=" + Quoted(options.device_binding.registration_path) +
                                             ";challenge=" + Quoted(Base64UrlEncode(challenge.nonce))};
}

bool HasValidBoundCookie(const Options& options, std::string_view cookie_header, const SessionView& session,
                         std::int64_t now_ms) noexcept {
  Token token{};
  bool any = false;
  for (std::string_view value : FindCookies(cookie_header, options.device_binding.cookie_name, 2)) {
    if (value.size() != kBoundTokenChars || !Base64UrlDecodeExact(value, token)) continue;
    const TokenHash hash = HashToken(token);
    for (const BoundCookieView& bound : session.bound_cookies()) {
      // Every entry is compared, live or not, so the time does not tell which matched.
      const bool equal = ConstantTimeEqual(bound.token_hash, hash);
      any = any || (equal && now_ms < bound.expires_ms);
    }
  }
  return any;
}

// ---- DeviceBindingOp -------------------------------------------------------

DeviceBindingOp::DeviceBindingOp(const Options& options, Kind kind, std::string_view cookie_header,
                                 std::string_view session_id, std::string_view proof, TimePoint now)
    : MutationOp(options), kind_(kind), now_(now), session_id_(ParseSessionId(session_id)) {
  for (std::string_view value : FindCookies(cookie_header, options.cookie.name, kMaxCandidates)) {
    values_.emplace_back(value);
  }
  has_proof_ = kind == Kind::kRegister || !proof.empty();
  if (has_proof_) {
    const DbscProofError parsed =
        detail::ParseDbscProof(proof, options.device_binding.max_proof_bytes, kind == Kind::kRegister, proof_);
    if (parsed != DbscProofError::kNone) Refuse(parsed);
  }
  if (outcome_ == Outcome::kNone) {
    RandomBytes(bound_token_);
    if (!has_proof_) challenge_ = NewDeviceChallenge(options, StoredMillis(now));
  }
}

Step DeviceBindingOp::Start() {
  if (!options_.device_binding.enabled) return Step::Done();  // kUnsupported stays
  if (outcome_ == Outcome::kRefused) return Respond();
  return NextCookie();
}

Step DeviceBindingOp::NextCookie() {
  while (next_ < values_.size()) {
    auto cookie = detail::ParseSessionCookie(values_[next_++]);
    if (!cookie) continue;
    kid_.assign(cookie->kid);
    current_ = HashToken(cookie->token);
    return Next(mutation_.Begin(
        kid_, {},
        [this](Record& record) -> Result<bool> {
          outcome_ = Outcome::kNone;
          for (StoredSession& s : record.sessions) {
            if (ConstantTimeEqual(s.token_hash, current_)) return Change(s);
          }
          return false;
        },
        std::nullopt, now_));
  }
  // No live session: nothing to bind, nothing to refresh.
  outcome_ = kind_ == Kind::kRegister ? Outcome::kRefused : Outcome::kEnded;
  refusal_ = DbscProofError::kNone;
  return Respond();
}

Result<bool> DeviceBindingOp::Change(StoredSession& s) {
  const std::int64_t now_ms = StoredMillis(now_);
  matched_id_ = s.id;
  // The id is public (it names the session to the browser): no secret to time.
  if (kind_ == Kind::kRefresh && (!s.device_key || session_id_ != s.id)) {
    outcome_ = Outcome::kEnded;
    return false;
  }
  if (kind_ == Kind::kRefresh && !has_proof_) {
    s.challenge = challenge_;
    outcome_ = Outcome::kChallenged;
    return true;
  }
  if (kind_ == Kind::kRegister && s.device_key) {
    // Bound once: a second registration (a thief's key) never replaces it.
    Refuse(DbscProofError::kKey);
    return false;
  }
  if (!ChallengeLive(s.challenge, now_ms) || !detail::DbscChallengeMatches(proof_.jti, s.challenge->nonce)) {
    Refuse(DbscProofError::kChallenge);
    return false;
  }
  const DeviceKeyAlg alg = kind_ == Kind::kRegister ? proof_.jwk->alg : s.device_key->alg;
  const std::vector<std::uint8_t>& spki = kind_ == Kind::kRegister ? proof_.jwk->spki : s.device_key->spki;
  if (!verified_once_ || verified_spki_ != spki) {
    verified_ = detail::VerifyDbscProof(proof_, alg, spki);
    verified_spki_ = spki;
    verified_once_ = true;
  }
  if (verified_ != DbscProofError::kNone) {
    Refuse(verified_);
    return false;
  }
  if (kind_ == Kind::kRegister) {
    s.device_key = StoredDeviceKey{proof_.jwk->alg, proof_.jwk->spki, proof_.jwk->thumbprint};
  }
  s.challenge.reset();  // single use
  bound_expires_ms_ = std::min(now_ms + Millis(options_.device_binding.cookie_lifetime), s.expires_ms);
  std::erase_if(s.bound_cookies, [&](const StoredBoundCookie& c) { return c.expires_ms <= now_ms; });
  s.bound_cookies.insert(s.bound_cookies.begin(), StoredBoundCookie{HashToken(bound_token_), bound_expires_ms_});
  if (s.bound_cookies.size() > kMaxBoundCookies) s.bound_cookies.resize(kMaxBoundCookies);
  outcome_ = kind_ == Kind::kRegister ? Outcome::kRegistered : Outcome::kRefreshed;
  return true;
}

Step DeviceBindingOp::Next(Step step) {
  if (!step.done()) return step;
  if (!mutation_.result()) {
    result_ = mutation_.result().error();
    return step;
  }
  if (outcome_ == Outcome::kNone) return NextCookie();  // no session matched this cookie
  return Respond();
}

Step DeviceBindingOp::Respond() {
  const DeviceBindingOptions& db = options_.device_binding;
  switch (outcome_) {
    case Outcome::kRegistered:
    case Outcome::kRefreshed: {
      DeviceBindingResponse response = JsonAnswer(200, SessionConfiguration(options_, matched_id_, now_));
      const auto max_age = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(
                                                                 milliseconds(bound_expires_ms_ - StoredMillis(now_))));
      response.set_cookie.push_back(
          BuildSetCookie(options_.cookie, db.cookie_name, Base64UrlEncode(bound_token_), max_age, now_));
      result_ = std::move(response);
      break;
    }
    case Outcome::kChallenged: {
      DeviceBindingResponse response = Answer(403);
      response.headers.emplace_back("Secure-Session-Challenge", Quoted(Base64UrlEncode(challenge_.nonce)) +
                                                                    ";id=" + Quoted(FormatSessionId(matched_id_)));
      result_ = std::move(response);
      break;
    }
    case Outcome::kEnded: {
      // With the session's identifier the browser files the end as the
      // server's request (Chromium 156: ServerRequested), not as a malformed
      // configuration.
      DeviceBindingResponse response = JsonAnswer(
          200, session_id_ ? R"({"session_identifier":")" + FormatSessionId(*session_id_) + R"(","continue":false})"
                           : std::string(R"({"continue":false})"));
      response.set_cookie.push_back(BuildExpiredCookie(options_.cookie, db.cookie_name));
      result_ = std::move(response);
      break;
    }
    case Outcome::kRefused:
    case Outcome::kNone:
      // No live session behind a registration: 401 (log in again).
      result_ = Answer(refusal_ == DbscProofError::kNone ? 401 : RefusalStatus(refusal_));
      break;
  }
  return Step::Done();
}

}  // namespace jeff::engine
