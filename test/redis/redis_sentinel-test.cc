// RedisStore through Redis Sentinel against real processes: a master, two
// replicas and three sentinels on loopback. The master is killed while
// threads Check sessions: every Check answers either OK or a store error
// (HTTP 503), never "logged out"; Checks are OK again within 10 s of the
// sentinels' failover; and no session written before the kill is lost
// (writes WAIT for one replica, and the sentinels promote the most
// up-to-date replica).

#include "redis_test_support.hpp"
#include "sentinel_test_support.hpp"
#include "support/cookies.hpp"
#include "support/key_listing_contract.hpp"
#include "tls_test_support.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>
#include <jeff/stores/open_store.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

namespace jeff::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kQuery =
    "wait_replicas=1&wait_timeout=300ms&timeout=1s&connect_timeout=300ms&pool_timeout=1s"
    "&reconnect_min=20ms&reconnect_max=100ms";

// One group for both checks: starting it and letting the sentinels find
// each other is most of this file's run time.
void CheckDiscovery(SentinelGroup& group) {
  Options o;
  o.store = OpenStore(group.Url(kQuery));
  Sessions sessions(o);
  auto issued = sessions.Set("carol@example.com", "meta");
  REQUIRE(issued.ok());
  CHECK(sessions.Check(CookieOf(*issued)).status == CheckStatus::kOk);
  // The session is on the master and (WAIT 1) on one of its replicas at
  // least: either may have acknowledged first.
  long long on_replicas = 0;
  for (std::size_t i = 1; i < group.nodes().size(); ++i) {
    on_replicas += RawRedis(group.nodes()[i]->port(), SentinelGroup::kDataPassword).Int({"DBSIZE"});
  }
  CHECK(on_replicas >= 1);
  // KeyListing scans the master that the sentinels name.
  RunKeyListingContract(*o.store, "sentinel:");

  // The sentinels' password is not the data nodes' (and vice versa).
  std::string swapped = "redis-sentinel://:" + std::string(SentinelGroup::kSentinelPassword) + "@" +
                        group.sentinels()[0]->address() + "/mymaster?sentinel_password=" +
                        SentinelGroup::kSentinelPassword;
  // The data node answers and refuses the sentinels' password: a refusal,
  // not an outage.
  auto store = OpenStore(swapped);
  CHECK(store->Fetch("k").error() == Errc::kStoreRefused);
  auto unknown = OpenStore("redis-sentinel://:x@" + group.sentinels()[0]->address() +
                           "/othermaster?sentinel_password=" + SentinelGroup::kSentinelPassword);
  CHECK(unknown->Fetch("k").error() == Errc::kStoreUnavailable);
}

TEST_CASE("Sentinel: discovery; killing the master is a store error until the failover, no session lost") {
  SentinelGroup group(2);
  CheckDiscovery(group);
  Options o;
  o.store = OpenStore(group.Url(kQuery));
  Sessions sessions(o);

  std::vector<std::string> cookies;
  for (int i = 0; i < 40; ++i) {
    auto issued = sessions.Set("user" + std::to_string(i) + "@example.com", "meta");
    REQUIRE(issued.ok());
    cookies.push_back(CookieOf(*issued));
  }

  std::atomic<bool> stop{false}, killed{false};
  std::mutex mu;
  std::map<CheckStatus, long> before_kill, after_kill;
  std::vector<Clock::time_point> ok_after_kill;  // completion times
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); !stop.load(); i += 4) {
        const CheckResult r = sessions.Check(cookies[i % cookies.size()]);
        // Counted as "before" only when it ended before the kill began.
        const bool after = killed.load();
        std::lock_guard lock(mu);
        (after ? after_kill : before_kill)[r.status]++;
        if (after && r.status == CheckStatus::kOk) ok_after_kill.push_back(Clock::now());
        if (r.status == CheckStatus::kStoreError) {
          std::this_thread::sleep_for(milliseconds(5));  // as a client would back off
        }
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(300));
  const std::uint16_t old_master = group.nodes()[0]->port();
  REQUIRE(group.MasterPort() == old_master);
  killed.store(true);
  const auto kill_at = Clock::now();
  group.nodes()[0]->Kill();

  // The sentinels notice (down-after-milliseconds 1000) and promote a replica.
  Clock::time_point failover_at;
  for (;;) {
    if (group.MasterPort() != old_master) {
      failover_at = Clock::now();
      break;
    }
    REQUIRE(Clock::now() - kill_at < std::chrono::seconds(30));
    std::this_thread::sleep_for(milliseconds(20));
  }
  // Checks recover within 10 s of the failover.
  Clock::time_point recovered_at{};
  while (Clock::now() - failover_at < std::chrono::seconds(10)) {
    {
      std::lock_guard lock(mu);
      for (auto t : ok_after_kill) {
        if (t > failover_at) {
          recovered_at = t;
          break;
        }
      }
    }
    if (recovered_at != Clock::time_point{}) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(300));
  stop.store(true);
  for (auto& t : threads) t.join();

  const auto ms = [](auto d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  MESSAGE("failover " << ms(failover_at - kill_at) << " ms after the kill; Checks OK again "
                      << ms(recovered_at - failover_at) << " ms after the failover; after the kill: "
                      << after_kill[CheckStatus::kOk] << " ok, " << after_kill[CheckStatus::kStoreError]
                      << " store errors");
  REQUIRE(recovered_at != Clock::time_point{});
  CHECK(recovered_at - failover_at < std::chrono::seconds(10));
  // Before the kill: all OK. After: OK or a store error, never "logged out".
  CHECK(before_kill[CheckStatus::kOk] > 0);
  CHECK(before_kill.size() == 1);
  CHECK(after_kill[CheckStatus::kStoreError] > 0);
  for (const auto& [status, count] : after_kill) {
    INFO(ToString(status) << ": " << count);
    CHECK((status == CheckStatus::kOk || status == CheckStatus::kStoreError));
  }
  // Every session written before the kill is on the new master.
  for (const auto& cookie : cookies) CHECK(sessions.Check(cookie).status == CheckStatus::kOk);
  auto issued = sessions.Set("after@example.com", "meta");
  CHECK(issued.ok());
}

TEST_CASE("Sentinel over TLS: rediss-sentinel:// reaches a TLS sentinel and a TLS master") {
  TestPki pki;
  auto master = StartRedisTls(pki, {"--requirepass", SentinelGroup::kDataPassword});
  const std::string conf = master->dir() + "/sentinel.conf";
  {
    std::ofstream out(conf);
    out << "port 0\n"
        << "tls-cert-file " << pki.server_cert() << "\ntls-key-file " << pki.server_key() << "\n"
        << "tls-ca-cert-file " << pki.ca() << "\ntls-auth-clients no\ntls-replication yes\n"
        << "sentinel monitor mymaster 127.0.0.1 " << master->port() << " 1\n"
        << "sentinel auth-pass mymaster " << SentinelGroup::kDataPassword << "\n";
  }
  ServerProcess sentinel("sentinel-tls", {"redis-server", conf, "--sentinel", "--tls-port", "{port}",
                                          "--bind", "127.0.0.1", "--dir", "{dir}", "--daemonize",
                                          "no", "--protected-mode", "no"});
  Options o;
  o.store = OpenStore("rediss-sentinel://:" + std::string(SentinelGroup::kDataPassword) + "@" +
                      sentinel.address() + "/mymaster?ca_file=" + pki.ca());
  Sessions sessions(o);
  auto issued = sessions.Set("dave@example.com", "meta");
  REQUIRE(issued.ok());
  CHECK(sessions.Check(CookieOf(*issued)).status == CheckStatus::kOk);

  // The sentinel's certificate is checked too.
  auto wrong_ca = OpenStore("rediss-sentinel://:" + std::string(SentinelGroup::kDataPassword) +
                            "@" + sentinel.address() + "/mymaster?ca_file=" + pki.other_ca());
  CHECK(wrong_ca->Fetch("k").error() == Errc::kStoreUnavailable);
}

}  // namespace
}  // namespace jeff::test
