// libmemcached results as jeff error codes.
#include <doctest/doctest.h>
#include <jeff/stores/memcached/detail/errors.hpp>

#include <cerrno>

using jeff::Errc;
using jeff::memcached_detail::ToErrc;

TEST_CASE("timeouts are kStoreTimeout") {
  CHECK(ToErrc(MEMCACHED_TIMEOUT, 0) == Errc::kStoreTimeout);
  CHECK(ToErrc(MEMCACHED_ERRNO, ETIMEDOUT) == Errc::kStoreTimeout);
}

TEST_CASE("unreachable and dead servers are kStoreUnavailable") {
  for (memcached_return_t rc :
       {MEMCACHED_CONNECTION_FAILURE, MEMCACHED_HOST_LOOKUP_FAILURE, MEMCACHED_WRITE_FAILURE,
        MEMCACHED_READ_FAILURE, MEMCACHED_NO_SERVERS, MEMCACHED_SERVER_MARKED_DEAD,
        MEMCACHED_SERVER_TEMPORARILY_DISABLED, MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE}) {
    CAPTURE(rc);
    CHECK(ToErrc(rc, 0) == Errc::kStoreUnavailable);
  }
  CHECK(ToErrc(MEMCACHED_ERRNO, ECONNREFUSED) == Errc::kStoreUnavailable);
  CHECK(ToErrc(MEMCACHED_ERRNO, ECONNRESET) == Errc::kStoreUnavailable);
}

TEST_CASE("an item over the server's limit is kValueTooLarge; bad keys are the caller's") {
  CHECK(ToErrc(MEMCACHED_E2BIG, 0) == Errc::kValueTooLarge);
  CHECK(ToErrc(MEMCACHED_BAD_KEY_PROVIDED, 0) == Errc::kInvalidArgument);
  CHECK(ToErrc(MEMCACHED_KEY_TOO_BIG, 0) == Errc::kInvalidArgument);
}

TEST_CASE("unexpected answers are kStoreProtocol") {
  for (memcached_return_t rc :
       {MEMCACHED_PROTOCOL_ERROR, MEMCACHED_CLIENT_ERROR, MEMCACHED_SERVER_ERROR, MEMCACHED_ERROR,
        MEMCACHED_UNKNOWN_READ_FAILURE, MEMCACHED_PARTIAL_READ}) {
    CAPTURE(rc);
    CHECK(ToErrc(rc, 0) == Errc::kStoreProtocol);
  }
}
