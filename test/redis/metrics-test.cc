// Counters and the event hook of Sessions on a real redis-server through an
// outage: while the server is stopped (SIGSTOP) a Check is a store error, and
// that error is counted and given to Options::on_event with its error code.

#include "redis_test_support.hpp"
#include "support/cookies.hpp"

#include <doctest/doctest.h>
#include <jeff/metrics.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <mutex>
#include <random>
#include <vector>

namespace jeff::test {
namespace {

using std::chrono::milliseconds;

TEST_CASE("Sessions on Redis: a stopped server's errors are counted and reported as events") {
  auto server = StartRedis();
  RedisStoreOptions ro = LocalOptions(server->port());
  ro.command_timeout = milliseconds(300);
  Options o;
  o.store = std::make_shared<RedisStore>(ro);
  o.key_prefix = "metrics" + std::to_string(std::random_device{}()) + ":";
  o.metrics = true;
  o.metrics_timed_one_in = 1;  // the timed-out call must be among those timed
  std::mutex mutex;
  std::vector<Event::Kind> kinds;
  std::vector<std::error_code> errors;
  std::vector<StoreOp> ops;
  std::vector<std::string> keys;
  o.on_event = [&](const Event& e) {
    std::lock_guard lock(mutex);
    kinds.push_back(e.kind);
    errors.push_back(e.error);
    ops.push_back(e.op);
    keys.emplace_back(e.key);
  };
  Sessions sessions(o);

  auto issued = sessions.Set("alice@example.com", "laptop");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);
  CHECK(sessions.Check(cookie).ok());
  MetricsSnapshot before = sessions.metrics();
  CHECK(before.checks.ok == 1);
  CHECK(before.sets == 1);
  CHECK(before.store_errors == 0);
  CHECK(before.store_calls[static_cast<std::size_t>(StoreOp::kFetch)].calls >= 1);
  {
    std::lock_guard lock(mutex);
    CHECK(kinds.empty());
  }

  server->Pause();
  const CheckResult down = sessions.Check(cookie);
  server->Resume();
  CHECK(down.status == CheckStatus::kStoreError);

  const MetricsSnapshot after = sessions.metrics();
  CHECK(after.checks.store_error == 1);
  CHECK(after.checks.ok == 1);
  CHECK(after.store_errors == 1);
  const LatencyHistogram& fetches = after.store_calls[static_cast<std::size_t>(StoreOp::kFetch)];
  CHECK(fetches.calls == before.store_calls[static_cast<std::size_t>(StoreOp::kFetch)].calls + 1);
  CHECK(fetches.count == fetches.calls);
  CHECK(fetches.sum_seconds >= 0.25);  // the timed-out call waited for its timeout
  {
    std::lock_guard lock(mutex);
    REQUIRE(kinds.size() == 1);
    CHECK(kinds[0] == Event::Kind::kStoreError);
    CHECK(errors[0] == down.error);
    CHECK(IsStoreError(errors[0]));
    CHECK(ops[0] == StoreOp::kFetch);
    CHECK(keys[0].empty());  // events_include_key is off
  }

  // The same object works again, and counts it.
  CHECK(sessions.Check(cookie).ok());
  CHECK(sessions.metrics().checks.ok == 2);
}

// The stateless denylist's write is a store call like any other: on a
// stopped server it is counted as a failed compare-and-swap and reported as
// a store_error event, and Clear fails rather than claiming a revocation.
TEST_CASE("stateless on a Redis denylist: a failed deny is counted and reported as an event") {
  auto server = StartRedis();
  RedisStoreOptions ro = LocalOptions(server->port());
  ro.command_timeout = milliseconds(300);
  Options o;
  o.stateless.secrets = {"metrics-test-secret-0123456789abcdef"};
  o.stateless.denylist = std::make_shared<RedisStore>(ro);
  o.key_prefix = "metrics" + std::to_string(std::random_device{}()) + ":";
  o.logger = [](std::string_view) {};
  o.metrics = true;
  std::mutex mutex;
  std::vector<Event> events;
  o.on_event = [&](const Event& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  };
  Sessions sessions(o);
  auto issued = sessions.Set("alice@example.com", "");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);

  server->Pause();
  auto cleared = sessions.Clear(cookie);
  server->Resume();
  REQUIRE_FALSE(cleared.ok());
  CHECK(IsStoreError(cleared.error()));

  const MetricsSnapshot m = sessions.metrics();
  CHECK(m.clears == 0);
  CHECK(m.cas_attempts == 1);
  CHECK(m.store_errors == 1);
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kCas)].calls == 1);
  {
    std::lock_guard lock(mutex);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == Event::Kind::kStoreError);
    CHECK(events[0].op == StoreOp::kCas);
    CHECK(events[0].error == cleared.error());
  }
  // Once the server answers, the same Clear revokes, and is counted.
  REQUIRE(sessions.Clear(cookie).ok());
  CHECK(sessions.Check(cookie).status == CheckStatus::kUnknown);
  CHECK(sessions.metrics().clears == 1);
}

}  // namespace
}  // namespace jeff::test
