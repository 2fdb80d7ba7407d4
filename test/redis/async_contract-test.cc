// The async store contract on a real redis-server and a real 3-node Redis
// Cluster, through AsyncRedisStore: built directly, and opened from a URL by
// OpenAsyncStore.
#include <doctest/doctest.h>
#include <jeff/stores/open_async_store.hpp>
#include <jeff/stores/redis/async_redis_store.hpp>

#include "redis_test_support.hpp"
#include "support/async_store_contract.hpp"

namespace jeff::test {
namespace {

TEST_CASE("redis-server through AsyncRedisStore passes the async store contract") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  RunAsyncStoreContract(ServerAsyncHarness([](boost::asio::any_io_executor loop) {
    AsyncRedisStoreOptions o;
    o.redis = LocalOptions(server->port());
    o.connections = 2;
    return std::make_shared<AsyncRedisStore>(std::move(o), loop);
  }));
}

TEST_CASE("redis:// opened by OpenAsyncStore passes the async store contract") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  const std::string url = "redis://127.0.0.1:" + std::to_string(server->port()) + "?pool_size=2";
  RunAsyncStoreContract(ServerAsyncHarness([url](boost::asio::any_io_executor loop) {
    auto store = OpenAsyncStore(url, loop);
    CHECK(dynamic_cast<AsyncRedisStore*>(store.get()) != nullptr);
    return store;
  }));
}

TEST_CASE("a 3-node Redis Cluster through AsyncRedisStore passes the async store contract") {
  static RedisCluster cluster(3);
  RunAsyncStoreContract(ServerAsyncHarness([](boost::asio::any_io_executor loop) {
    AsyncRedisStoreOptions o;
    o.redis = cluster.Options();
    return std::make_shared<AsyncRedisStore>(std::move(o), loop);
  }));
}

}  // namespace
}  // namespace jeff::test
