#pragma once
/// \file
/// jeff::Sessions: log a key (user id, email) in with Set, check requests with
/// Check, log out with Clear, revoke with Delete, list with SessionsForKey.
/// Framework-free: header strings in, session and Set-Cookie values out.

#include <jeff/at_rest.hpp>
#include <jeff/clock.hpp>
#include <jeff/cookie.hpp>
#include <jeff/device_binding.hpp>
#include <jeff/export.hpp>
#include <jeff/metrics.hpp>
#include <jeff/result.hpp>
#include <jeff/stateless_options.hpp>
#include <jeff/store.hpp>
#include <jeff/token.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace jeff {

namespace engine {
class Strategy;
}
class Claims;

/// Configuration of a Sessions object. Every field has a default; the whole
/// struct is validated once by the Sessions constructor (which throws
/// std::invalid_argument on a bad value), never on the request path.
struct Options {
  /// Where sessions live. Required by the stateful strategy (the default);
  /// use OpenStore("memory://") from jeff-stores for the embedded store.
  std::shared_ptr<Store> store;
  /// Name and attributes of the session cookie.
  CookieOptions cookie;
  /// Absolute lifetime of a session, and the cookie's Max-Age. 0: the cookie
  /// is a browser-session cookie (no Max-Age/Expires) and the server still
  /// ends the session after `session_cookie_lifetime`. At most
  /// kMaxCookieLifetime (400 days), like the other durations below.
  std::chrono::seconds max_age = std::chrono::hours(24 * 30);
  /// Server-side lifetime of browser-session cookies (used when max_age is 0).
  std::chrono::seconds session_cookie_lifetime = std::chrono::hours(12);
  /// A session unused for longer than this ends. 0: no idle timeout.
  std::chrono::seconds idle_timeout{0};
  /// Check records activity (last_seen, a store write) at most once per
  /// interval per session. 0: never (Check is then read-only). Must be
  /// shorter than idle_timeout when both are set.
  std::chrono::seconds touch_interval = std::chrono::minutes(1);
  /// Sessions kept per key; a Set beyond it evicts the oldest. 0: no limit.
  std::size_t max_sessions_per_key = 64;
  /// Prefix of every store key (`<prefix><kid>`): printable, no whitespace,
  /// at most 200 bytes.
  std::string key_prefix = "jeff:";
  /// Secret mixed into the key id (HMAC-SHA-256) so that store keys and
  /// cookies cannot be linked to a known key. Empty: plain SHA-256, and
  /// anyone who knows or guesses a key (an email address) can compute its
  /// key id. Recommended: a server-side secret of 32 random bytes or more.
  std::string pepper;
  /// More peppers whose key ids are read but never written: the pepper
  /// ring is `pepper` (new sessions are stored under its key id) followed
  /// by these, in order. An empty entry stands for "no pepper" (plain
  /// SHA-256). A cookie is checked under the key id it carries, whichever
  /// pepper made it; Delete, SessionsForKey and UpdateMeta by key also cover
  /// the key ids of these peppers, one store call each. So a pepper changes
  /// without logging anyone out: first list the new pepper here on every
  /// server, then make it `pepper` and list the old one here, and drop that
  /// entry once no session stored under it can be live, or once every
  /// record was moved (MoveRecord; `jeffctl sessions rekey`; see README,
  /// "Changing the pepper"). Entries must differ from each other and from
  /// `pepper`. Empty: one pepper.
  std::vector<std::string> read_peppers;
  /// Move records found under a read pepper's key id to `pepper`'s on their
  /// first write (a Set of the key, or any change through the ring or an
  /// old cookie), in two compare-and-swaps that lose and resurrect no
  /// session when servers race (docs/design.md, "Moving records to the
  /// newest key id"). Every server follows moved records whatever this
  /// says; turn it on only where `pepper` is the newest pepper (step 2 of
  /// the README's "Changing the pepper", never step 1). Costs a Set one more
  /// store read per read pepper. false: records stay under the key id they
  /// were created with.
  bool move_records = false;
  /// Development only: allow the cookie without Secure (plain HTTP). Logs a
  /// warning once, at construction.
  bool insecure = false;
  /// Where HTTP adapters send a request that needs a session and has none.
  std::string unauthorized_redirect = "/";
  /// Attempts of one read-modify-compare-and-swap before Errc::kConflict.
  int cas_attempts = 32;
  /// Upper bound of the random back-off between CAS attempts (doubles from
  /// a tenth of it). 0: retry at once.
  std::chrono::microseconds cas_backoff = std::chrono::milliseconds(5);
  /// Longest application key (bytes) accepted by Set, Delete, SessionsForKey.
  std::size_t max_key_bytes = 1024;
  /// Longest meta (bytes) accepted by Set and UpdateMeta.
  std::size_t max_meta_bytes = 4096;
  /// Source of time. Empty: the system clock.
  Clock clock;
  /// Receives warnings (e.g. insecure mode). Empty: standard error.
  std::function<void(std::string_view)> logger;
  /// Stateful (store records) or stateless (encrypted cookie). kAuto:
  /// stateful when `store` is set, else stateless, which then needs
  /// `stateless.secrets` (or `stateless.keys`).
  SessionStrategy strategy = SessionStrategy::kAuto;
  /// Keys, callbacks and limits of the stateless strategy.
  StatelessOptions stateless;
  /// Count operations and store calls and time a sample of the store calls,
  /// for metrics() (see MetricsSnapshot). Off by default: then no counter is
  /// touched and no clock read; on, each thread counts in its own slot (no
  /// locked instructions).
  bool metrics = false;
  /// With `metrics`: time one store call in this many, on average (per
  /// thread and operation, at random intervals), for the latency
  /// histograms; 1 times every call. Two clock reads cost about as much as
  /// an in-memory store call's bookkeeping, so the default samples; slow
  /// stores lose little by it. At least 1.
  std::uint32_t metrics_timed_one_in = 16;
  /// Called for notable events (see Event), on the thread (or loop) that
  /// ran the operation; must not throw and should be quick. Empty: none.
  /// Independent of `metrics`.
  std::function<void(const Event&)> on_event;
  /// Give on_event the store or application key concerned (Event::key).
  /// Off: Event::key is always empty (keys may be email addresses).
  bool events_include_key = false;
  /// Device Bound Session Credentials (stateful strategy): sessions whose
  /// cookie works only beside a short-lived cookie that the browser renews
  /// by proving possession of a device key. Off by default.
  DeviceBindingOptions device_binding;
  /// Encryption at rest of the stateful records (key and meta): the key
  /// ring and whether writes are sealed. No keys (the default): records in
  /// clear. The stateless strategy ignores it.
  AtRestOptions at_rest;
};

/// A live session, as handlers and operators see it.
struct Session {
  std::string key;        ///< the application's key (user id, email)
  SessionId id{};         ///< public id of this session (UUIDv4), for listing and revoking
  TimePoint created;      ///< when Set created it
  TimePoint expires;      ///< absolute end
  TimePoint last_seen;    ///< last recorded activity (throttled by touch_interval)
  std::string meta;       ///< application bytes given to Set (device, IP, ...)
  /// The last authentication: `created` (the login Set recorded), or the
  /// last Reauthenticated. Rotate, Check's touch, UpdateMeta and DBSC
  /// refreshes keep it. Stateless sessions: the token's `auth_time` claim
  /// (Set's time, kept by refreshes); the Unix epoch for a token without
  /// one (Auth.js's), so that a route needing a recent login asks again.
  TimePoint authenticated_at;
  /// The kind of cookie the session's login chose: true for a cookie with
  /// Max-Age (it survives a browser restart), false for a browser-session
  /// cookie (SetOptions::max_age 0). Rotate keeps it. Sessions stored
  /// without that choice (a plain Set, or by a version before it was kept)
  /// and stateless sessions: Options::max_age != 0.
  bool persistent = true;
  /// A device key is bound to the session (DBSC): requests need the bound
  /// cookie beside the session cookie.
  bool device_bound = false;
  /// The token's claims (shaped by the session callback) in stateless mode;
  /// null for stateful sessions, which carry none.
  std::shared_ptr<const Claims> claims = nullptr;

  /// True when the claims grant `role` (see Claims::HasRole); false
  /// without claims.
  JEFF_API bool HasRole(std::string_view role) const;
  /// The JSON text of claim `name`; std::nullopt when absent or without claims.
  JEFF_API std::optional<std::string> Claim(std::string_view name) const;
  /// The value of string claim `name`; std::nullopt when absent, not a
  /// string, or without claims.
  JEFF_API std::optional<std::string> StringClaim(std::string_view name) const;
};

/// Outcome of Check. Not being logged in is a status, not an error.
enum class CheckStatus {
  kOk,          ///< a live session; see CheckResult::session
  kAbsent,      ///< no session cookie in the request
  kMalformed,   ///< a session cookie that cannot be ours (shape, size, base64)
  kUnknown,     ///< well-formed, but no such session (revoked, cleared, forged)
  kExpired,     ///< the session ended (absolute or idle expiry); once the store
                ///< has dropped the whole record, an ended session is kUnknown
  kStoreError,  ///< the store failed: answer 503, neither "in" nor "out"
  kDeviceProofRequired,  ///< a device-bound session (DBSC) without a valid
                         ///< bound cookie: not in. Treat it as kAbsent; a
                         ///< DBSC browser renews the cookie by itself first
};

/// The readable name of a status ("ok", "absent", ...).
JEFF_API std::string_view ToString(CheckStatus status) noexcept;

/// What Check found.
struct CheckResult {
  CheckStatus status = CheckStatus::kAbsent;  ///< what was found
  Session session;             ///< valid only when status == kOk
  std::error_code error;       ///< the store failure when status == kStoreError
  /// Set-Cookie values to send back with the response (e.g. a refreshed
  /// stateless token); usually empty.
  std::vector<std::string> set_cookie;

  /// True when status == kOk.
  bool ok() const noexcept { return status == CheckStatus::kOk; }
  /// Same as ok().
  explicit operator bool() const noexcept { return ok(); }
};

/// Choices for one login, given to Sessions::Set: e.g. a short session unless
/// the user ticked "remember me" (scs's RememberMe, express-session's
/// per-request maxAge).
struct SetOptions {
  /// This session's lifetime and its cookie's Max-Age, in place of
  /// Options::max_age and with the same meaning: 0 makes a browser-session
  /// cookie (no Max-Age) that the server ends after
  /// Options::session_cookie_lifetime. From 0 to kMaxCookieLifetime (400
  /// days), else Set fails with Errc::kInvalidArgument; Options::idle_timeout
  /// still applies. std::nullopt: Options::max_age. The stateless strategy
  /// accepts only std::nullopt or Options::max_age itself (else
  /// Errc::kUnsupported): its token renews itself from Options::max_age when
  /// it slides forward, and carries no lifetime of its own. The session
  /// keeps the cookie kind chosen here (Session::persistent): Rotate gives a
  /// browser-session cookie again, and a persistent one Max-Age = the
  /// session's remaining lifetime.
  std::optional<std::chrono::seconds> max_age;
};

/// A session just created (Set) or re-keyed (Rotate).
struct Issued {
  Session session;  ///< the new session (its id, times and meta)
  /// Set-Cookie header values for the response (one, or several when a
  /// stateless token is split into chunks).
  std::vector<std::string> set_cookie;
  /// The session's credential for a client without a cookie jar (a mobile
  /// or API client), to send as `Authorization: Bearer <token>` (see
  /// CheckBearer): the session cookie's value (stateful `<kid>.<token>`,
  /// or the whole stateless token). Keep it as secret as the cookie.
  std::string token;
  /// Other response headers (name, value): with Options::device_binding,
  /// Set adds Secure-Session-Registration (the browser's invitation to bind
  /// the session to a device key). Usually empty.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What Sessions::MoveRecord did with one record.
enum class MoveOutcome : std::uint8_t {
  /// Nothing to do: no record, no live session, already under
  /// Options::pepper's key id, or moved before (frozen, its move absorbed).
  kNone,
  /// Moved now: frozen, and its sessions absorbed into the record under
  /// Options::pepper's key id of its key.
  kMoved,
  /// A move another writer began (frozen, then stopped before the absorb)
  /// was finished: its sessions absorbed into the target.
  kFinished,
  /// Left as it is: it holds live sessions under a key id that no pepper of
  /// the ring makes for its key (another application's pepper, or one
  /// dropped from the ring too early), which no by-key operation reaches.
  kForeign,
};

/// The session manager. Thread-safe: one instance serves all request threads.
class JEFF_API Sessions {
 public:
  /// Validates `options` and throws std::invalid_argument when they are
  /// unusable (no store, bad cookie attributes, inconsistent timeouts).
  explicit Sessions(Options options);
  /// Releases the store (shared with whoever else holds it). No call may
  /// still be running on another thread.
  ~Sessions();
  /// Moves the manager; the moved-from object may only be destroyed or
  /// assigned to.
  Sessions(Sessions&&) noexcept;
  /// Moves the manager; the moved-from object may only be destroyed or
  /// assigned to.
  Sessions& operator=(Sessions&&) noexcept;
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  /// Creates a session for `key` (non-empty) carrying `meta`, after a
  /// successful login. The cookie is returned only once the store accepted
  /// the session; on failure there is no cookie to send. Evicts the oldest
  /// sessions above max_sessions_per_key and prunes expired ones.
  Result<Issued> Set(std::string_view key, std::string_view meta = {});

  /// Set with per-login choices (see SetOptions), e.g. a browser-session
  /// cookie unless the user ticked "remember me":
  /// `Set(email, device, {.max_age = std::chrono::seconds(0)})`.
  /// Errc::kInvalidArgument for a lifetime out of range, Errc::kUnsupported
  /// for a lifetime of its own in stateless mode.
  Result<Issued> Set(std::string_view key, std::string_view meta, const SetOptions& set_options);

  /// Checks the session cookie in `cookie_header` (the Cookie request
  /// header, may be empty). One store read; at most one throttled write
  /// (last_seen) per touch_interval.
  CheckResult Check(std::string_view cookie_header);

  /// Checks `Authorization: Bearer <token>` (`authorization_header` is the
  /// header's value; the token is Issued::token) as Check checks the
  /// cookie: stateful sessions always (a device-bound one is then
  /// kDeviceProofRequired: its proof lives in a cookie), stateless ones
  /// with StatelessOptions::bearer set. kAbsent for another scheme, or
  /// stateless without that option. Never refreshes a stateless token.
  CheckResult CheckBearer(std::string_view authorization_header);

  /// Logs out the session of `cookie_header` (if any) and returns the
  /// Set-Cookie values that delete the cookie. Succeeds when there was no
  /// session; fails only when the store did.
  ///
  /// Revokes (Clear and both Deletes) that succeed are as durable as the
  /// store's writes: on a store that waits for replicas
  /// (Store::WaitsForReplicas) each one writes the record it read (for a
  /// record frozen by a move, the one its sessions moved to), even
  /// when it removed nothing, and fails with the store's error when the
  /// replicas do not acknowledge that write; on any other store a revoke
  /// that removes nothing writes nothing.
  Result<std::vector<std::string>> Clear(std::string_view cookie_header);

  /// Revokes every session of `key` (stored under any pepper of the ring:
  /// Options::pepper and read_peppers). Returns how many were live. See
  /// Clear for durability.
  Result<std::size_t> Delete(std::string_view key);

  /// Revokes the sessions of `key` whose ids are in `ids`; other ids are
  /// ignored. Returns how many were removed. Stateless (with a denylist):
  /// how many ids were newly denied, since the server cannot tell whether
  /// an id names a token still in use; an id already denied counts 0 (and
  /// its entry is written again when the denylist waits for replicas, as
  /// Clear says).
  Result<std::size_t> Delete(std::string_view key, std::span<const SessionId> ids);

  /// The live sessions of `key` under every pepper of the ring, oldest
  /// first (expired ones are pruned). An unknown key gives an empty list.
  Result<std::vector<Session>> SessionsForKey(std::string_view key);

  /// Gives the session of `cookie_header` (the request's Cookie header, the
  /// one Check verified) a new token and returns its Set-Cookie value; the
  /// old cookie stops working (session-fixation defence, e.g. after a
  /// privilege change). The cookie is of the kind the login chose
  /// (Session::persistent): a browser-session cookie again, or one whose
  /// Max-Age is the session's remaining lifetime (whole seconds, at least 1).
  /// Everything else about the session stays as it was. The session is matched by its current token, inside
  /// one compare-and-swap: Errc::kSessionNotFound when the cookie names no
  /// live session, including when it was already rotated (so of two
  /// concurrent Rotates with one cookie exactly one succeeds).
  /// Errc::kUnsupported in stateless mode.
  Result<Issued> Rotate(std::string_view cookie_header);

  /// Replaces the meta of the session of `cookie_header` (the request's
  /// Cookie header, the one Check verified), e.g. a device name the user
  /// chose, and returns the session as it now is. Nothing else changes
  /// (token, times, cookie: there is no Set-Cookie to send). The session is
  /// matched by its current token inside one compare-and-swap, as Rotate's.
  /// Errc::kInvalidArgument for meta over Options::max_meta_bytes (nothing
  /// is written), Errc::kSessionNotFound when the cookie names no live
  /// session, Errc::kUnsupported in stateless mode (the meta travels in the
  /// token the client holds; a new one would leave the old one valid:
  /// call Set instead).
  Result<Session> UpdateMeta(std::string_view cookie_header, std::string_view meta);

  /// UpdateMeta for session `id` of `key` (an operator or another device
  /// of the user, e.g. from the SessionsForKey list). Errors as above, and
  /// Errc::kInvalidArgument for a key Set would refuse.
  Result<Session> UpdateMeta(std::string_view key, const SessionId& id, std::string_view meta);

  /// Moves the record under `store_key` (a key of the store:
  /// Options::key_prefix, then a key id, as a listing of the store gives
  /// it) to Options::pepper's key id if it lies under a read pepper's key
  /// id of its own key, exactly as the first write of a server with
  /// Options::move_records would (docs/design.md, "Moving records to the
  /// newest key id"), and finishes a move another writer left half done.
  /// Sessions are neither lost nor revived, whoever races it. For operator
  /// tools (`jeffctl sessions rekey`) that visit every key, so that the old
  /// pepper can leave the ring at once. Errc::kInvalidArgument, without
  /// I/O, unless Options::move_records is set and `store_key` starts with
  /// the prefix; Errc::kUnsupported in stateless mode; store errors as
  /// Set's.
  Result<MoveOutcome> MoveRecord(std::string_view store_key);

  /// Records that the user of the session of `cookie_header` (the request's
  /// Cookie header) just authenticated again (password, second factor) and
  /// gives the session a new token, as Rotate does: Session::authenticated_at
  /// becomes the clock's now, and the returned Set-Cookie value replaces the
  /// old cookie, which stops working. The new token is the session-fixation
  /// defence of any privilege change: a cookie planted or copied before the
  /// prompt must not inherit the fresh authentication. Matched by the current
  /// token inside one compare-and-swap: Errc::kSessionNotFound when the cookie
  /// names no live session (of two concurrent calls with one cookie exactly
  /// one succeeds). Errc::kUnsupported in stateless mode (call Set again).
  Result<Issued> Reauthenticated(std::string_view cookie_header);

  /// DBSC registration endpoint (DeviceBindingOptions::registration_path,
  /// POST): `cookie_header` is the request's Cookie header (the session
  /// cookie names the session), `secure_session_response` its
  /// Secure-Session-Response header (the browser's signed proof, with its
  /// public key). Binds the key to the session (in the session's record,
  /// through the same compare-and-swap as every change) when the proof
  /// signs the session's outstanding registration challenge, consumes the
  /// challenge and returns the session configuration and the first bound
  /// cookie. A refused request is a response (400, 401, 403), not an error;
  /// errors are store failures, and Errc::kUnsupported when DBSC is off.
  Result<DeviceBindingResponse> RegisterDevice(std::string_view cookie_header,
                                               std::string_view secure_session_response);

  /// DBSC refresh endpoint (DeviceBindingOptions::refresh_path, POST):
  /// `sec_secure_session_id` is the Sec-Secure-Session-Id header,
  /// `secure_session_response` the Secure-Session-Response header (empty
  /// on the first request). Without a proof: stores a fresh challenge and
  /// answers 403 with Secure-Session-Challenge. With one: verifies it
  /// against the bound key and the challenge (consumed), answers 200 with a
  /// new bound cookie (the previous one stays valid until it expires, for
  /// requests in flight). An unknown, revoked, expired or unbound session,
  /// or another session's id: 200 `{"continue":false}` (the browser ends
  /// its DBSC session). Errors as RegisterDevice.
  Result<DeviceBindingResponse> RefreshDevice(std::string_view cookie_header,
                                              std::string_view sec_secure_session_id,
                                              std::string_view secure_session_response);

  /// The options in force (after defaults were applied).
  const Options& options() const noexcept;

  /// A snapshot of the counters (all zero with `enabled` false unless
  /// Options::metrics is on). Thread-safe: locks the manager's mutex and
  /// sums the counter slot of every thread that has run an operation (66
  /// relaxed loads per slot): meant for a scrape, not for every request.
  /// Operations count without that mutex (a thread takes it only on its
  /// first operation and when it exits).
  MetricsSnapshot metrics() const;

 private:
  std::unique_ptr<engine::Strategy> strategy_;
};

}  // namespace jeff
