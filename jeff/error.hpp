#pragma once
/// \file
/// Error codes of the jeff library. Failures are values (std::error_code with
/// jeff's category); "not logged in" is never an error, it is an outcome.

#include <jeff/export.hpp>

#include <string>
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
};

/// The error category of jeff::Errc ("jeff"). Thread-safe, never throws.
JEFF_API const std::error_category& ErrorCategory() noexcept;

/// Wraps `e` in a std::error_code of ErrorCategory().
JEFF_API std::error_code make_error_code(Errc e) noexcept;

/// True when `ec` is a store failure (unavailable, timeout, protocol, corrupt,
/// too large, conflict): the caller should answer "try again later" (HTTP 503),
/// never "logged in" and never "not logged in".
JEFF_API bool IsStoreError(std::error_code ec) noexcept;

}  // namespace jeff

template <>
struct std::is_error_code_enum<jeff::Errc> : std::true_type {};
