#pragma once
/// \file
/// Options of the stateless strategy: the session lives in an encrypted
/// cookie (compact JWE, Auth.js v5 format) instead of a store.

#include <jeff/jwe.hpp>
#include <jeff/result.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace jeff {

class Store;
struct Session;

/// Where Sessions keeps sessions.
enum class SessionStrategy {
  kAuto,       ///< stateful when Options::store is set, stateless otherwise
  kStateful,   ///< records in Options::store (revocable, listable)
  kStateless,  ///< everything in an encrypted cookie; nothing stored
};

/// Why the JWT callback runs.
enum class JwtTrigger {
  kSignIn,  ///< Sessions::Set is issuing a first token
  kUpdate,  ///< Check is re-issuing a token (sliding refresh)
};

/// Edits the claims of a token about to be issued for `key` (Auth.js's `jwt`
/// callback). `claims` already holds `sub`, `sid` and, on kUpdate, every
/// claim of the token being refreshed; jeff sets `sub`, `sid`, `iat`, `exp`
/// and `jti` after the callback, so those cannot be overridden. An error
/// fails Set; on kUpdate it ends the session (Check answers kUnknown and
/// expires the cookie), unless IsStoreError(error), which gives kStoreError.
/// Called on request threads, concurrently.
using JwtCallback = std::function<Result<void>(JwtTrigger trigger, std::string_view key, nlohmann::json& claims)>;

/// Shapes the claims handlers see in Session::claims (Auth.js's `session`
/// callback): gets the session (claims not yet set) and the token's claims,
/// and edits the latter. Runs on every successful Check and on Set; leave it
/// empty when the token's claims are fine as they are (it costs a JSON
/// round trip). Called on request threads, concurrently.
using SessionCallback = std::function<void(const Session& session, nlohmann::json& claims)>;

/// Configuration of the stateless strategy (Options::stateless).
///
/// Claims of the token: `sub` (the key), `sid` (session id, a UUIDv4),
/// `iat`, `exp`, `jti` (a UUIDv4 per token), `meta` (Set's meta, when not
/// empty: it must then be UTF-8), `auth_time` (OpenID Connect's: Set's
/// time, which refreshes carry on; Session::authenticated_at), plus what
/// `jwt_callback` adds. Lifetime:
/// `exp` = now + Options::max_age (Options::session_cookie_lifetime when
/// max_age is 0; shortened to Options::idle_timeout when that is set and
/// shorter), slid forward by a refresh at most once per
/// Options::touch_interval, as Auth.js's maxAge / updateAge. Session::created
/// and last_seen are the token's `iat`. A token without `sid` (Auth.js
/// writes none) is identified by its `jti`, and a refresh carries that value
/// on as the new token's `sid`, so that revoking any copy revokes them all.
struct StatelessOptions {
  /// Secrets, newest first, each at least 32 bytes (e.g. `openssl rand
  /// -base64 33`; shorter ones only with `allow_weak_secrets`): keys are derived from them as Auth.js v5 does (so that a
  /// Next.js app with the same AUTH_SECRET and cookie name reads jeff's
  /// cookie, and the other way round). The first encrypts; all decrypt.
  std::vector<std::string> secrets;
  /// Accept non-empty `secrets` shorter than 32 bytes, as Auth.js does (it
  /// takes any non-empty AUTH_SECRET), to share sessions with an existing
  /// Auth.js app whose secret is short. Logs a warning once, at
  /// construction, when a secret is short. A short secret can be guessed
  /// offline from any one token: rotate to one of 32 random bytes or more
  /// (new secret first, the old one second, until the old tokens expire),
  /// then drop the old secret and this flag. false: Sessions throws
  /// std::invalid_argument at construction for a short secret.
  bool allow_weak_secrets = false;
  /// Raw content-encryption keys: 64 bytes (A256CBC-HS512) or 32 (A256GCM),
  /// tried after the derived keys; used to encrypt when `secrets` is empty.
  std::vector<std::string> keys;
  /// HKDF salt of `secrets`. Empty: the cookie name (Auth.js does the same;
  /// its cookie is `authjs.session-token`, or `__Secure-authjs.session-token`
  /// over HTTPS).
  std::string salt;
  /// Content encryption of issued tokens (Auth.js writes A256CBC-HS512).
  JweEnc enc = JweEnc::kA256CbcHs512;
  /// Also accept tokens with the other `enc` (Auth.js accepts both).
  bool accept_other_enc = true;
  /// Tolerance when checking `exp` and `nbf` (Auth.js: 15 s).
  std::chrono::seconds skew{15};
  /// Let Sessions::CheckBearer accept `Authorization: Bearer <token>`.
  /// false: CheckBearer always answers kAbsent.
  bool bearer = false;
  /// Longest token accepted or issued, in characters, all cookie chunks
  /// together. Tokens over 3936 characters are split into cookies
  /// `<name>.0`, `<name>.1`, ... as Auth.js does. Mind the server's limit on
  /// one request header: 8 KB in cpp-httplib and nginx by default, which a
  /// claim set of about 5 KB already fills.
  std::size_t max_token_chars = 16 * 1024;
  /// Edits the claims of issued tokens. Empty: the claims listed above only.
  JwtCallback jwt_callback;
  /// Shapes what handlers see. Empty: the token's claims as they are.
  SessionCallback session_callback;
  /// Optional revocation list: Clear (and Delete with ids) write an entry
  /// for the session (one only-if-absent compare-and-swap each), and Check
  /// refuses a denied session, at the cost of one store read per Check.
  /// The entry's key is `<key_prefix>deny:<22 characters>`: the key id (as
  /// for a cookie, with Options::pepper) of `<length of sid>:<sid><key>`,
  /// so it names one session of one application key, and neither the sid
  /// nor the key can be read from the store. Empty: a token stays valid
  /// until its `exp`, whatever happens (Clear only asks the browser to drop
  /// the cookie).
  std::shared_ptr<Store> denylist;
  /// With a denylist: the longest a token may still be valid (`exp` - now),
  /// whoever issued it (Auth.js's default maxAge is 30 days); a token
  /// claiming more is refused. Raised to this server's own token lifetime
  /// when shorter; at most kMaxCookieLifetime (400 days). A denylist entry
  /// lives this long plus `skew` plus a 60 s margin (for a refresh racing
  /// the revocation), or, when Clear revokes a token whose own `exp` is
  /// later, until that `exp` plus `skew` and the margin: no token of a
  /// revoked session outlives its entry. Unused without a denylist.
  std::chrono::seconds max_token_lifetime = std::chrono::hours(24 * 30);
};

}  // namespace jeff
