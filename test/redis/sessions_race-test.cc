// The Sessions-level race suite (no lost login, no resurrected session) and
// the session updates (support/session_updates.hpp) on a
// real redis-server and on a real 3-node Redis Cluster.

#include "redis_test_support.hpp"
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

}  // namespace
}  // namespace jeff::test
