#include <jeff/stores/memcached/detail/errors.hpp>

#include <cerrno>

namespace jeff::memcached_detail {

Errc ToErrc(memcached_return_t rc, int local_errno) noexcept {
  switch (rc) {
    case MEMCACHED_TIMEOUT:
      return Errc::kStoreTimeout;
    case MEMCACHED_ERRNO:
      return local_errno == ETIMEDOUT || local_errno == EAGAIN ? Errc::kStoreTimeout
                                                               : Errc::kStoreUnavailable;
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_BIND_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_FAIL_UNIX_SOCKET:
    case MEMCACHED_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_IN_PROGRESS:
      return Errc::kStoreUnavailable;
    case MEMCACHED_E2BIG:
      return Errc::kValueTooLarge;
    case MEMCACHED_BAD_KEY_PROVIDED:
    case MEMCACHED_NO_KEY_PROVIDED:
    case MEMCACHED_KEY_TOO_BIG:
      return Errc::kInvalidArgument;
    default:
      return Errc::kStoreProtocol;
  }
}

std::error_code ErrorOf(const memcached_st* mc, memcached_return_t rc) noexcept {
  memcached_return_t precise = rc;
  if (rc == MEMCACHED_FAILURE || rc == MEMCACHED_SOME_ERRORS || rc == MEMCACHED_NOTFOUND ||
      !memcached_failed(rc)) {
    const memcached_return_t recorded = memcached_last_error(mc);
    if (recorded != MEMCACHED_SUCCESS) precise = recorded;
  }
  return make_error_code(ToErrc(precise, memcached_last_error_errno(mc)));
}

bool HasRecordedError(const memcached_st* mc) noexcept {
  return memcached_last_error(mc) != MEMCACHED_SUCCESS;
}

}  // namespace jeff::memcached_detail
