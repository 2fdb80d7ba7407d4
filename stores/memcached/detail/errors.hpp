#pragma once
// Internal to jeff-memcached (not installed): libmemcached results as jeff
// errors.

#include <jeff/error.hpp>

#include <libmemcached-1.0/memcached.h>

#include <system_error>

namespace jeff::memcached_detail {

/// The jeff code for a failed libmemcached call: timeouts ->
/// kStoreTimeout; refused, reset, unreachable, dead or disabled servers and
/// other system errors -> kStoreUnavailable; an item over the server's size
/// limit -> kValueTooLarge; a key libmemcached refuses -> kInvalidArgument;
/// anything else the server or client did not expect -> kStoreProtocol.
/// `local_errno` qualifies MEMCACHED_ERRNO. Not for the outcomes that are
/// not errors (a miss, a lost race).
Errc ToErrc(memcached_return_t rc, int local_errno) noexcept;

/// The error of a call on `mc` that returned `rc`, a result the caller
/// does not accept as an outcome. libmemcached returns generic codes
/// (FAILURE, SOME_ERRORS, even a miss) for failures it recorded precisely
/// on `mc`; that record is used then.
std::error_code ErrorOf(const memcached_st* mc, memcached_return_t rc) noexcept;

/// True when the call in progress on `mc` recorded a failure. Needed after
/// a `gets`: libmemcached reports a reply that timed out as a miss.
bool HasRecordedError(const memcached_st* mc) noexcept;

}  // namespace jeff::memcached_detail
