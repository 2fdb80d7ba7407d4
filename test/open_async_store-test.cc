// OpenAsyncStore: which store a URL opens, and the errors it shares with
// OpenStore. (The pooled schemes run the contract in test/memcached and
// test/postgres.)
#include <doctest/doctest.h>
#include <jeff/stores/memory/memory_store.hpp>
#include <jeff/stores/open_async_store.hpp>
#include <jeff/stores/open_store.hpp>
#include <jeff/stores/pooled_async_store.hpp>

#include <boost/asio/io_context.hpp>

#include <stdexcept>
#include <string>

namespace jeff {
namespace {

// The message OpenStore throws for `url` (every test URL here is refused).
std::string OpenStoreError(const std::string& url) {
  try {
    (void)OpenStore(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("OpenStore accepted " << url);
  return {};
}

std::string OpenAsyncStoreError(const std::string& url) {
  boost::asio::io_context loop;
  try {
    (void)OpenAsyncStore(url, loop.get_executor());
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("OpenAsyncStore accepted " << url);
  return {};
}

TEST_CASE("OpenAsyncStore opens memory:// as a MemoryStore with its options") {
  boost::asio::io_context loop;
  auto store = OpenAsyncStore("memory://?shards=4&max_value_bytes=3", loop.get_executor());
  auto memory = std::dynamic_pointer_cast<MemoryStore>(store);
  REQUIRE(memory);
  bool called = false;
  store->AsyncCompareAndSwap("k", std::nullopt, "four", std::chrono::minutes(1), [&](Result<bool> r) {
    called = true;
    CHECK(r.error() == Errc::kValueTooLarge);  // max_value_bytes reached the store
  });
  CHECK(called);  // inline
}

TEST_CASE("OpenAsyncStore refuses what OpenStore refuses, with the same message") {
  for (const std::string url : {"nosuch://host", "not a url", "memory://?shards=0",
                                "memory://?bogus=1", "memcached://127.0.0.1:1?bogus=1"}) {
    CAPTURE(url);
    CHECK(OpenAsyncStoreError(url) == OpenStoreError(url));
  }
}

TEST_CASE("OpenAsyncStore takes async_threads and async_queue for pooled stores only") {
  // memory:// completes inline: it has no pool to size.
  CHECK(OpenAsyncStoreError("memory://?async_threads=2") ==
        OpenStoreError("memory://?async_threads=2"));
  CHECK(OpenAsyncStoreError("memcached://127.0.0.1:1?async_threads=0").find("async_threads") !=
        std::string::npos);
  CHECK(OpenAsyncStoreError("memcached://127.0.0.1:1?async_queue=x").find("async_queue") !=
        std::string::npos);
  CHECK(OpenAsyncStoreError("memcached://127.0.0.1:1?async_threads=2000").find("async_threads") !=
        std::string::npos);
}

TEST_CASE("OpenAsyncStore opens redis:// as the non-blocking Redis store when it was built") {
  boost::asio::io_context loop;
#if JEFF_HAVE_REDIS_ASYNC
  auto store = OpenAsyncStore("redis://127.0.0.1:1?timeout=50ms", loop.get_executor());  // no connect yet
  REQUIRE(store);
  CHECK(dynamic_cast<PooledAsyncStore*>(store.get()) == nullptr);  // never a blocking client on a pool
  // No pool to size.
  CHECK(OpenAsyncStoreError("redis://127.0.0.1:1?async_threads=2")
            .find("unknown store URL option 'async_threads'") != std::string::npos);
#else
  CHECK(OpenAsyncStoreError("redis://127.0.0.1:1").find("asynchronous Redis") != std::string::npos);
#endif
}

}  // namespace
}  // namespace jeff
