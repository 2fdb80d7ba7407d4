// The Sessions-level race suite (no lost login, no resurrected session) and
// the session updates (support/session_updates.hpp) and data at rest
// (support/at_rest_flow.hpp) on a
// real redis-server and on a real 3-node Redis Cluster.

#include "redis_test_support.hpp"
#include "support/at_rest_flow.hpp"
#include "support/session_updates.hpp"
#include "support/sessions_race.hpp"

#include <doctest/doctest.h>
#include <jeff/stores/redis/redis_store.hpp>

namespace jeff::test {
namespace {

TEST_CASE("sessions races on a real redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  RaceHarness h;
  h.store = std::make_shared<RedisStore>(LocalOptions(server->port()));
  RunSessionsRaces(h);
}

TEST_CASE("sessions races on a real 3-node Redis Cluster") {
  static RedisCluster cluster(3);
  RaceHarness h;
  h.store = std::make_shared<RedisStore>(cluster.Options());
  RunSessionsRaces(h);
}

TEST_CASE("session updates on a real redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  RunSessionUpdates(std::make_shared<RedisStore>(LocalOptions(server->port())));
}

TEST_CASE("data at rest on a real redis-server: a raw GET shows neither key nor meta") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  auto store = std::make_shared<RedisStore>(LocalOptions(server->port()));
  RawRedis raw(server->port());
  RunAtRestFlow(
      *store, RaceOptions(store), [](const Options& o) { return std::make_unique<Sessions>(o); },
      // The store's value is `<8-byte version><record>`: the record follows.
      [&](const std::string& store_key) { return raw.Text({"GET", store_key}).substr(8); });
}

}  // namespace
}  // namespace jeff::test
