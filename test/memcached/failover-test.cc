// One node of a three-server ring killed (SIGKILL) and restarted on its port
// while users log in, check and revoke: the sessions it held are gone (a
// memcached restart is empty), nothing else is touched. No wrong grant, no
// revoked session back, no error on the other nodes' keys; the store errors
// and the time until every request is OK again are printed. Recovery is
// polled to a deadline, never asserted as a duration.
#include <doctest/doctest.h>

#include <jeff/store_url.hpp>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "memcached/memcached_support.hpp"
#include "support/failover_workload.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

TEST_CASE("a ring node killed and restarted under load loses only its own sessions") {
  std::unique_ptr<ServerProcess> nodes[] = {StartMemcached(), StartMemcached(), StartMemcached()};
  std::string url = "memcached://";
  for (const auto& n : nodes) url += (url.back() == '/' ? "" : ",") + n->address();
  url += "?connect_timeout=500ms&io_timeout=1s&retry_timeout=1s&pool_size=8";
  auto parsed = ParseStoreUrl(url);
  REQUIRE(parsed.ok());

  Options o;
  o.store = MakeMemcachedStore(*parsed);
  o.key_prefix = "fo" + std::to_string(std::random_device{}()) + ":";
  o.max_sessions_per_key = 0;
  o.touch_interval = std::chrono::seconds(0);  // Check reads only
  Sessions sessions(o);

  FailoverWorkload load(sessions, o.key_prefix, 240, 4, [&](const std::string& store_key) {
    int owner = -1;
    for (int i = 0; i < 3; ++i) {
      if (ServerHolds(nodes[i]->port(), store_key)) {
        CHECK(owner == -1);  // on exactly one node
        owner = i;
      }
    }
    CHECK(owner != -1);
    return owner;
  });
  load.Prepare();
  const int victim = 1;
  MESSAGE("keys per node: " << load.KeysOn(0) << " " << load.KeysOn(1) << " " << load.KeysOn(2));
  REQUIRE(load.KeysOn(victim) > 0);

  load.Start(victim);
  std::this_thread::sleep_for(1s);
  load.MarkFault();
  nodes[victim]->Kill();
  std::this_thread::sleep_for(1500ms);
  nodes[victim]->Restart();
  FinishRun(load, "memcached ring, 1 of 3 nodes killed 1.5 s", false, true);
  CHECK(load.store_errors.load() > 0);  // the fault was seen
  // A restarted memcached is empty: the victim's sessions are gone.
  CHECK(load.lost_on_faulty.load() > 0);
  CHECK(load.resurrected.load() == 0);
}

}  // namespace
}  // namespace jeff::test
