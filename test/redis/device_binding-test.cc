// DBSC on a real redis-server, both drivers: the registration -> refresh ->
// revocation flow, and two "servers" (managers) refreshing one bound
// session at once while logins rewrite its record: the binding survives.

#include "redis_test_support.hpp"
#include "support/blocking_async.hpp"
#include "support/dbsc_flow.hpp"

#include <doctest/doctest.h>
#include <jeff/stores/redis/async_redis_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>


namespace jeff::test {
namespace {

Options DbscOptions(ManualClock& clock, std::string prefix) {
  Options options;
  options.clock = clock.AsClock();
  options.key_prefix = std::move(prefix);
  options.device_binding.enabled = true;
  return options;
}

TEST_CASE("Sessions: the DBSC flow on a real redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  ManualClock clock;
  Options options = DbscOptions(clock, "dbsc-sync:");
  options.store = std::make_shared<RedisStore>(LocalOptions(server->port()));
  Sessions sessions(options);
  RunDbscFlow(sessions, clock);
}

TEST_CASE("AsyncSessions: the DBSC flow on a real redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  ManualClock clock;
  boost::asio::io_context ioc;
  AsyncRedisStoreOptions o;
  o.redis = LocalOptions(server->port());
  AsyncSessions sessions(DbscOptions(clock, "dbsc-async:"), std::make_shared<AsyncRedisStore>(o, ioc.get_executor()),
                         ioc.get_executor());
  BlockingAsync api(sessions, ioc);
  RunDbscFlow(api, clock);
}

TEST_CASE("two servers refreshing one bound session concurrently never lose the binding") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  ManualClock clock;
  Options options = DbscOptions(clock, "dbsc-race:");
  options.cas_backoff = std::chrono::microseconds(200);
  options.store = std::make_shared<RedisStore>(LocalOptions(server->port()));
  Sessions first(options);
  options.store = std::make_shared<RedisStore>(LocalOptions(server->port()));
  Sessions second(options);
  DbscBrowser browser;
  browser.Login(first.Set("carol", "").value());
  REQUIRE(Register(first, browser).status == 200);

  RunRefreshRace(first, second, browser, "carol", 30);
  // A revoke on one server ends the session at the next refresh on the other.
  REQUIRE(first.Delete("carol").ok());
  CHECK(Ended(Refresh(second, browser), browser.session_id));
}

}  // namespace
}  // namespace jeff::test
