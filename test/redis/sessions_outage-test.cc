// jeff::Sessions on Redis through an outage: 16 threads Check and Set while
// redis-server is killed and restarted on the same port. Every failure is a
// store error (kStoreError: HTTP 503), no request is answered with a wrong
// session or "not logged in" while the server is down, and the same Sessions
// object works again after the restart.

#include "redis_test_support.hpp"
#include "support/cookies.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <atomic>
#include <random>

namespace jeff::test {
namespace {

using std::chrono::milliseconds;

TEST_CASE("Sessions on Redis: a killed server is a store error, and the same object recovers") {
  auto server = StartRedis();
  RedisStoreOptions ro = LocalOptions(server->port());
  ro.command_timeout = milliseconds(500);
  Options o;
  o.store = std::make_shared<RedisStore>(ro);
  o.max_sessions_per_key = 0;
  o.key_prefix = "outage" + std::to_string(std::random_device{}()) + ":";
  Sessions sessions(o);

  OutageDrill drill;
  std::atomic<long> wrong_session{0}, not_store_error{0}, answered_while_down{0},
      unknown_while_up{0};
  auto worker = [&](int t) {
    const std::string key = "user" + std::to_string(t) + "@example.com";
    std::mt19937 rng(static_cast<unsigned>(t));
    std::string cookie;
    auto answered = [&](int before, int after) {
      if (before == OutageDrill::kDown && after == OutageDrill::kDown) answered_while_down.fetch_add(1);
    };
    while (!drill.stop.load()) {
      const int before = drill.phase.load();
      if (cookie.empty() || rng() % 8 == 0) {
        auto issued = sessions.Set(key, "meta");
        const int after = drill.phase.load();
        if (issued.ok()) {
          cookie = CookieOf(*issued);
          drill.Ok(before);
          answered(before, after);
        } else {
          (IsStoreError(issued.error()) ? drill.failed : not_store_error).fetch_add(1);
        }
        continue;
      }
      const CheckResult r = sessions.Check(cookie);
      const int after = drill.phase.load();
      switch (r.status) {
        case CheckStatus::kOk:
          drill.Ok(before);
          if (r.session.key != key) wrong_session.fetch_add(1);
          answered(before, after);
          break;
        case CheckStatus::kStoreError:
          drill.failed.fetch_add(1);
          if (!IsStoreError(r.error)) not_store_error.fetch_add(1);
          break;
        case CheckStatus::kUnknown:
          // Legitimate only once the restarted server has lost the record.
          if (after < OutageDrill::kRestarted) unknown_while_up.fetch_add(1);
          answered(before, after);
          cookie.clear();
          break;
        default:
          not_store_error.fetch_add(1);
          break;
      }
    }
  };
  RunOutage(*server, 16, drill, worker, milliseconds(700), milliseconds(1000), milliseconds(2000));

  CheckOutageCounts(drill);
  CHECK(answered_while_down.load() == 0);
  CHECK(wrong_session.load() == 0);
  CHECK(unknown_while_up.load() == 0);
  CHECK(not_store_error.load() == 0);

  auto issued = sessions.Set("after@example.com", "meta");
  REQUIRE(issued.ok());
  CHECK(sessions.Check(CookieOf(*issued)).status == CheckStatus::kOk);
}

}  // namespace
}  // namespace jeff::test
