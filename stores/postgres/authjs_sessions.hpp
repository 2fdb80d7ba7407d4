#pragma once
/// \file
/// Auth.js database-strategy sessions, read and revoked from C++ (library
/// jeff-postgres, libpq underneath).
///
/// With `session: { strategy: "database" }` Auth.js keeps an opaque token in
/// the cookie `authjs.session-token` (`__Secure-authjs.session-token` over
/// HTTPS) and a row per session in the adapter's table; `@auth/pg-adapter`'s:
///
///     sessions(id, "userId", expires timestamptz, "sessionToken")
///     users(id, name, email, "emailVerified", image)
///
/// AuthJsDatabaseSessions checks such a cookie against those rows, deletes
/// one (as Auth.js's signOut does) or all of a user's, and lists them. Table
/// and column names are options, so Drizzle's (`session` / `user`) and
/// Prisma's (`Session` / `User`) layouts work too.
///
/// WARNING: Auth.js stores the session token unhashed. Whoever can read the
/// sessions table (a replica, a backup, a read-only SQL injection, a
/// support tool) can copy a token into a cookie and become that user. This
/// class never returns a token: listings carry a short hash of it instead.

#include <jeff/clock.hpp>
#include <jeff/export.hpp>
#include <jeff/result.hpp>
#include <jeff/sessions.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace jeff {

/// Configuration of AuthJsDatabaseSessions; defaults match `@auth/pg-adapter`.
/// Validated by the constructor. Every table and column name is an
/// identifier of letters, digits and `_` (at most 63 bytes; a table may be
/// `schema.table`) and is used double-quoted, so its case is kept:
/// Prisma's layout is `sessions_table = "Session"`, `users_table = "User"`;
/// Drizzle's `sessions_table = "session"`, `users_table = "user"`.
struct AuthJsDatabaseOptions {
  /// libpq connection string: a URI (`postgresql://user:password@host/db`)
  /// or `key=value` pairs. Must not be empty.
  std::string conninfo;
  /// The sessions table.
  std::string sessions_table = "sessions";
  /// Its token column (the cookie's value, stored as is).
  std::string token_column = "sessionToken";
  /// Its user id column (any type with a text form: integer, text, uuid).
  std::string user_id_column = "userId";
  /// Its expiry column: `timestamptz`, or `timestamp` holding UTC (Prisma,
  /// Drizzle): every connection sets `TimeZone` to UTC.
  std::string expires_column = "expires";
  /// The users table, joined on `users_id_column = user_id_column`.
  std::string users_table = "users";
  /// The users table's key column.
  std::string users_id_column = "id";
  /// The users table's email column (may hold NULL).
  std::string email_column = "email";
  /// The users table's name column (may hold NULL).
  std::string name_column = "name";
  /// Cookie names, in order of preference: Check uses the first one present
  /// in the Cookie header. Must not be empty; each an RFC 6265 token.
  std::vector<std::string> cookie_names = {"__Secure-authjs.session-token",
                                           "authjs.session-token"};
  /// Longest token accepted; longer cookies are kMalformed without a query.
  std::size_t max_token_bytes = 255;
  /// Longest wait for a new connection. Must be > 0.
  std::chrono::milliseconds connect_timeout{2000};
  /// Longest wait for one call's answer (also the `statement_timeout`);
  /// then kStoreTimeout. Must be > 0.
  std::chrono::milliseconds command_timeout{1000};
  /// Connections. 0: unbounded.
  std::size_t pool_size = 16;
  /// Longest wait for a free connection when `pool_size` are in use; then
  /// kStoreTimeout. 0: fail at once.
  std::chrono::milliseconds pool_timeout{1000};
  /// After a failed connect, calls fail fast for this long before the next
  /// attempt (doubling up to the maximum). 0: try on every call.
  std::chrono::milliseconds reconnect_backoff_min{50};
  /// Upper bound of the reconnect back-off (>= the minimum).
  std::chrono::milliseconds reconnect_backoff_max{2000};
};

/// One Auth.js database session, as Check and SessionsForKey see it.
struct AuthJsSession {
  /// The session's user id, in PostgreSQL's text form (`42`, a cuid, a uuid).
  std::string user_id;
  /// The user's email; std::nullopt when NULL (and in SessionsForKey).
  std::optional<std::string> email;
  /// The user's name; std::nullopt when NULL (and in SessionsForKey).
  std::optional<std::string> name;
  /// When the session ends (the `expires` column, millisecond precision).
  TimePoint expires;
  /// A public id of the session: the first 16 hex digits of the SHA-256 of
  /// its token. Enough to tell sessions apart in a listing; useless as a
  /// cookie.
  std::string id;
};

/// What AuthJsDatabaseSessions::Check found. Status values as for Sessions:
/// kOk, kAbsent (no session cookie), kMalformed (empty or too long),
/// kUnknown (no such row, or no such user), kExpired (`expires` not after
/// the database's clock), kStoreError (never "not logged in").
struct AuthJsCheckResult {
  CheckStatus status = CheckStatus::kAbsent;  ///< what was found
  AuthJsSession session;                      ///< valid only when status == kOk
  std::error_code error;                      ///< the failure when status == kStoreError

  /// True when status == kOk.
  bool ok() const noexcept { return status == CheckStatus::kOk; }
  /// Same as ok().
  explicit operator bool() const noexcept { return ok(); }
};

/// Reads and revokes Auth.js database sessions. Thread-safe: every call
/// borrows its own pooled connection. Expiry is judged by the database
/// server's clock (`clock_timestamp()`), as one SQL statement per call.
/// Failures: kStoreUnavailable (refused, authentication, missing table),
/// kStoreTimeout (no answer within command_timeout, no connection within
/// pool_timeout), kStoreProtocol (anything else, e.g. a missing column).
class JEFF_API AuthJsDatabaseSessions {
 public:
  /// Validates `options` (std::invalid_argument naming the field, never
  /// with the password). Connects lazily.
  explicit AuthJsDatabaseSessions(AuthJsDatabaseOptions options);
  ~AuthJsDatabaseSessions();
  AuthJsDatabaseSessions(const AuthJsDatabaseSessions&) = delete;
  AuthJsDatabaseSessions& operator=(const AuthJsDatabaseSessions&) = delete;

  /// Checks the Auth.js session cookie in `cookie_header` (the Cookie
  /// request header, may be empty): one SELECT of the session joined with
  /// its user. Writes nothing (Auth.js's sliding `updateAge` is left to it).
  AuthJsCheckResult Check(std::string_view cookie_header);

  /// Deletes the session row of the cookie in `cookie_header`, as Auth.js's
  /// signOut does, and returns Set-Cookie values that delete every session
  /// cookie the header carried (Path=/, as Auth.js sets them). Succeeds when
  /// there was no cookie or no row; fails only when the store did.
  Result<std::vector<std::string>> Clear(std::string_view cookie_header);

  /// Deletes every session row of `user_id` (compared in its text form),
  /// expired ones included; returns how many rows were deleted.
  /// kInvalidArgument for an empty id.
  Result<std::size_t> Delete(std::string_view user_id);

  /// The live sessions of `user_id` (compared in its text form), soonest
  /// expiry first, without email and name; empty for an unknown user.
  /// kInvalidArgument for an empty id.
  Result<std::vector<AuthJsSession>> SessionsForKey(std::string_view user_id);

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jeff
