// AsyncSessions on AsyncRedisStore against real redis-server processes: the
// race suite with coroutines (logins interleave on the wire, so the CAS loop
// and its timer back-off really run), interoperation with Sessions on the
// synchronous RedisStore, a stopped server reported as a store error, and
// the manager destroyed while its calls wait on a stopped server, and the
// session updates (UpdateMeta, Reauthenticated).

#include "redis_test_support.hpp"
#include "support/async_sessions_race.hpp"
#include "support/at_rest_flow.hpp"
#include "support/blocking_async.hpp"
#include "support/step_up_flow.hpp"
#include "support/update_meta_flow.hpp"

#include <doctest/doctest.h>
#include <jeff/stores/redis/async_redis_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <signal.h>

namespace jeff::test {
namespace {

using boost::asio::awaitable;
using boost::asio::use_awaitable;

std::shared_ptr<AsyncStore> AsyncStoreOn(boost::asio::io_context& ioc, RedisStoreOptions redis,
                                         std::size_t connections = 2) {
  AsyncRedisStoreOptions o;
  o.redis = std::move(redis);
  o.connections = connections;
  return std::make_shared<AsyncRedisStore>(std::move(o), ioc.get_executor());
}

TEST_CASE("AsyncSessions races on a real redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  AsyncRaceHarness h;
  h.make_store = [](boost::asio::io_context& ioc) { return AsyncStoreOn(ioc, LocalOptions(server->port())); };
  RunAsyncSessionsRaces(h);
}

TEST_CASE("AsyncSessions races on a real 3-node Redis Cluster") {
  static RedisCluster cluster(3);
  AsyncRaceHarness h;
  h.revoke_trials = 5;
  h.make_store = [](boost::asio::io_context& ioc) { return AsyncStoreOn(ioc, cluster.Options()); };
  RunAsyncSessionsRaces(h);
}

TEST_CASE("AsyncSessions session updates on a real redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  boost::asio::io_context ioc;
  AsyncSessions sessions(Options{}, AsyncStoreOn(ioc, LocalOptions(server->port())), ioc.get_executor());
  BlockingAsync api(sessions, ioc);
  RunUpdateMetaFlow(api);
  ManualClock clock;
  Options stepped;
  stepped.clock = clock.AsClock();
  AsyncSessions step_up(stepped, AsyncStoreOn(ioc, LocalOptions(server->port())), ioc.get_executor());
  BlockingAsync step_up_api(step_up, ioc);
  RedisStore inspect(LocalOptions(server->port()));
  RunStepUpFlow(step_up_api, clock, inspect);
}

// An AsyncSessions and its blocking facade on an io_context shared with the
// store (AsyncHarness brings its own io_context, which a Redis store bound to
// another one cannot serve).
struct OwnedAsync {
  OwnedAsync(const Options& o, std::shared_ptr<AsyncStore> store, boost::asio::io_context& ioc)
      : sessions(o, std::move(store), ioc.get_executor()), api(sessions, ioc) {}
  AsyncSessions sessions;
  BlockingAsync api;
};

TEST_CASE("AsyncSessions data at rest on a real redis-server: a raw GET shows neither key nor meta") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  boost::asio::io_context ioc;
  auto store = AsyncStoreOn(ioc, LocalOptions(server->port()));
  RedisStore inspect(LocalOptions(server->port()));
  RawRedis raw(server->port());
  std::vector<std::unique_ptr<OwnedAsync>> owned;
  RunAtRestFlow(
      inspect, Options{},
      [&](const Options& o) {
        owned.push_back(std::make_unique<OwnedAsync>(o, store, ioc));
        return &owned.back()->api;
      },
      // The store's value is `<8-byte version><record>`: the record follows.
      [&](const std::string& store_key) { return raw.Text({"GET", store_key}).substr(8); });
}

TEST_CASE("AsyncSessions and Sessions share sessions on one redis-server") {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  boost::asio::io_context ioc;
  Options options;
  options.key_prefix = "interop:";
  AsyncSessions async_sessions(options, AsyncStoreOn(ioc, LocalOptions(server->port())), ioc.get_executor());
  Options sync_options = options;
  sync_options.store = std::make_shared<RedisStore>(LocalOptions(server->port()));
  Sessions sync(sync_options);
  RunCoroutine(ioc, [&]() -> awaitable<void> {
    auto issued = co_await async_sessions.Set("erin", "async", use_awaitable);
    REQUIRE(issued.ok());
    auto checked = sync.Check(CookieOf(*issued));
    REQUIRE(checked.ok());
    CHECK(checked.session.meta == "async");
    auto other = sync.Set("erin", "sync");
    REQUIRE(other.ok());
    auto async_checked = co_await async_sessions.Check(CookieOf(*other), use_awaitable);
    REQUIRE(async_checked.ok());
    CHECK(async_checked.session.meta == "sync");
    auto listed = co_await async_sessions.SessionsForKey("erin", use_awaitable);
    REQUIRE(listed.ok());
    CHECK(listed->size() == 2);
    auto deleted = co_await async_sessions.Delete("erin", use_awaitable);
    REQUIRE(deleted.ok());
    CHECK(*deleted == 2);
    CHECK(sync.Check(CookieOf(*issued)).status == CheckStatus::kUnknown);
  });
}

TEST_CASE("a stopped redis-server is a store error within the timeout, then sessions work again") {
  std::unique_ptr<ServerProcess> server = StartRedis();
  boost::asio::io_context ioc;
  RedisStoreOptions redis = LocalOptions(server->port());
  redis.command_timeout = std::chrono::milliseconds(300);
  AsyncSessions sessions(Options{}, AsyncStoreOn(ioc, redis, 1), ioc.get_executor());
  std::string cookie;
  RunCoroutine(ioc, [&]() -> awaitable<void> {
    auto issued = co_await sessions.Set("frank", "", use_awaitable);
    REQUIRE(issued.ok());
    cookie = CookieOf(*issued);
  });
  REQUIRE(::kill(server->pid(), SIGSTOP) == 0);
  RunCoroutine(ioc, [&]() -> awaitable<void> {
    const auto start = std::chrono::steady_clock::now();
    auto checked = co_await sessions.Check(cookie, use_awaitable);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(checked.status == CheckStatus::kStoreError);
    CHECK(checked.error == Errc::kStoreTimeout);
    CHECK(took < std::chrono::milliseconds(1500));
    auto set = co_await sessions.Set("frank", "", use_awaitable);
    CHECK(set.error() == Errc::kStoreTimeout);  // no cookie for a login the store did not take
  });
  REQUIRE(::kill(server->pid(), SIGCONT) == 0);
  RunCoroutine(ioc, [&]() -> awaitable<void> {
    CheckResult checked;
    for (int i = 0; i < 50 && !checked.ok(); ++i) checked = co_await sessions.Check(cookie, use_awaitable);
    CHECK(checked.ok());
  });
}

TEST_CASE("AsyncSessions destroyed with calls in flight on a stopped redis-server") {
  // Each call is on the wire to a stopped server when the manager goes:
  // each completes once with operation_canceled (before: the store's
  // timeout resumed them on the freed manager, a use-after-free under
  // ASan; or, with the store gone too, they never completed).
  std::unique_ptr<ServerProcess> server = StartRedis();
  boost::asio::io_context ioc;
  RedisStoreOptions redis = LocalOptions(server->port());
  redis.command_timeout = std::chrono::milliseconds(300);
  std::shared_ptr<AsyncStore> store = AsyncStoreOn(ioc, redis, 1);
  auto sessions = std::make_unique<AsyncSessions>(Options{}, store, ioc.get_executor());
  std::string cookie;
  RunCoroutine(ioc, [&]() -> awaitable<void> {
    auto issued = co_await sessions->Set("gina", "", use_awaitable);
    REQUIRE(issued.ok());
    cookie = CookieOf(*issued);
  });
  SUBCASE("the application keeps the store") {}
  SUBCASE("the manager held the only reference to the store") { store.reset(); }

  REQUIRE(::kill(server->pid(), SIGSTOP) == 0);
  std::vector<std::error_code> outcomes;
  CheckResult checked;
  bool check_done = false;
  sessions->SessionsForKey("gina", [&](Result<std::vector<Session>> listed) {
    outcomes.push_back(listed.error());
  });
  sessions->Set("gina", "", [&](Result<Issued> issued) { outcomes.push_back(issued.error()); });
  boost::asio::co_spawn(ioc, [&]() -> awaitable<void> {
    checked = co_await sessions->Check(cookie, use_awaitable);
    check_done = true;
  }, boost::asio::detached);
  ioc.restart();
  ioc.poll();  // the commands go out
  sessions.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((outcomes.size() < 2 || !check_done) && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_one_for(std::chrono::milliseconds(50));
  }
  REQUIRE(::kill(server->pid(), SIGCONT) == 0);
  REQUIRE(outcomes.size() == 2);
  for (const std::error_code& e : outcomes) CHECK(e == std::errc::operation_canceled);
  REQUIRE(check_done);
  CHECK(checked.status == CheckStatus::kStoreError);
  CHECK(checked.error == std::errc::operation_canceled);
  // The store's late answers are dropped; past its timeout it works for a
  // new manager.
  if (store) {
    for (int i = 0; i < 20; ++i) {  // let the store time out and reconnect
      ioc.restart();
      ioc.run_one_for(std::chrono::milliseconds(50));
    }
    AsyncSessions again(Options{}, store, ioc.get_executor());
    RunCoroutine(ioc, [&]() -> awaitable<void> {
      CheckResult ok;
      for (int i = 0; i < 50 && !ok.ok(); ++i) ok = co_await again.Check(cookie, use_awaitable);
      CHECK(ok.ok());
    });
  }
}

}  // namespace
}  // namespace jeff::test
