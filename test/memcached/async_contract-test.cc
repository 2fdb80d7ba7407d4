// The async store contract on real memcached servers, through
// PooledAsyncStore: built directly, and opened from a URL by OpenAsyncStore.
#include <doctest/doctest.h>
#include <jeff/stores/open_async_store.hpp>
#include <jeff/stores/pooled_async_store.hpp>

#include <chrono>

#include "memcached/memcached_support.hpp"
#include "support/async_store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

TEST_CASE("memcached through PooledAsyncStore passes the async store contract") {
  const std::vector<const ServerProcess*> servers = {&SharedServer(0), &SharedServer(1)};
  RunAsyncStoreContract(ServerAsyncHarness([servers](boost::asio::any_io_executor loop) {
    return std::make_shared<PooledAsyncStore>(std::make_shared<MemcachedStore>(TestOptions(servers)),
                                              loop, PooledAsyncStoreOptions{.threads = 8});
  }));
}

TEST_CASE("memcached opened by OpenAsyncStore passes the async store contract") {
  const std::string url = "memcached://" + SharedServer(0).address() +
                          "?async_threads=4&io_timeout=2s&async_queue=256&connect_timeout=2s";
  RunAsyncStoreContract(ServerAsyncHarness([url](boost::asio::any_io_executor loop) {
    auto store = OpenAsyncStore(url, loop);
    // The async_* options sized the pool; the others reached the store
    // (which refuses an option it does not know).
    auto* pooled = dynamic_cast<PooledAsyncStore*>(store.get());
    REQUIRE(pooled != nullptr);
    CHECK(pooled->options().threads == 4);
    CHECK(pooled->options().max_queued == 256);
    CHECK(dynamic_cast<MemcachedStore*>(pooled->store().get()) != nullptr);
    return store;
  }));
}

}  // namespace
}  // namespace jeff::test
