#pragma once
/// \file
/// Error codes of the jeff library. Failures are values (std::error_code with
/// jeff's category); "not logged in" is never an error, it is an outcome.

#include <jeff/export.hpp>

#include <string>
#include <string_view>
#include <system_error>

namespace jeff {

/// Why an operation failed. Every store backend maps its own failures
/// (hiredis' `err`, libmemcached's `memcached_return_t`, ...) onto these.
enum class Errc {
  kStoreUnavailable = 1,  ///< cannot reach the store (refused, reset, no server)
  kStoreTimeout,          ///< the store did not answer within the configured timeout
  kStoreProtocol,         ///< the store answered something unexpected
  kStoreCorrupt,          ///< a stored record failed to decode; never read as a session
  kValueTooLarge,         ///< the store refuses a value of this size
  kConflict,              ///< compare-and-swap retries exhausted under contention
  kInvalidArgument,       ///< bad input from the caller (empty key, bad id, ...)
  kSessionNotFound,       ///< the session to act on does not exist (any more)
  kUnsupported,           ///< the operation is not available in this strategy
  kCrypto,                ///< the system's randomness or crypto library failed
  /// the store answers but refuses jeff's requests: credentials rejected
  /// (Redis WRONGPASS/NOAUTH/NOPERM, a PostgreSQL role or password), no such
  /// database or table, a Redis database index out of range. A
  /// configuration to fix, not an outage to wait out (still HTTP 503).
  kStoreRefused,
  /// a record sealed (Options::at_rest) with a key whose id is not in the
  /// ring: never read as a session; put the key back in the ring (HTTP 503).
  kRecordKeyUnknown,
};

/// The error category of jeff::Errc ("jeff"). Thread-safe, never throws.
JEFF_API const std::error_category& ErrorCategory() noexcept;

/// Wraps `e` in a std::error_code of ErrorCategory().
JEFF_API std::error_code make_error_code(Errc e) noexcept;

/// True when `ec` is a store failure (unavailable, refused, timeout, protocol,
/// corrupt, too large, conflict, record key unknown): the caller should answer "try again later"
/// (HTTP 503), never "logged in" and never "not logged in".
JEFF_API bool IsStoreError(std::error_code ec) noexcept;

// Why, in the store's own words. A std::error_code carries a code only; the
// synchronous stores record the reason of each failure they return (the
// server's text, the address, the failed step; secrets redacted) on the
// calling thread, where the caller reads it right after the failed call.
// PooledAsyncStore and AsyncRedisStore note it on the loop thread just
// before the completion handler runs, so the handler reads it there.

/// The reason recorded on this thread for its last failure, when that
/// failure was `ec`, e.g. "127.0.0.1:6379: AUTH: WRONGPASS invalid
/// username-password pair or user is disabled."; empty when none was
/// recorded for `ec`. Read it before the thread makes another store call.
JEFF_API std::string ErrorDetail(std::error_code ec);

/// `ec.message()`, then ": " and ErrorDetail(ec) when there is one: what
/// logs and operator tools print for a failure.
JEFF_API std::string DescribeError(std::error_code ec);

/// For Store implementations: records `detail` (secrets already redacted,
/// see RedactStoreMessage) as this thread's reason for `ec`, and returns
/// `ec`. A failed allocation drops the detail, never the error.
JEFF_API std::error_code NoteError(std::error_code ec, std::string_view detail) noexcept;

/// For Store implementations: forgets this thread's recorded reason, at the
/// start of a call, so that an older reason is never read as this call's.
JEFF_API void ClearErrorDetail() noexcept;

}  // namespace jeff

template <>
struct std::is_error_code_enum<jeff::Errc> : std::true_type {};
