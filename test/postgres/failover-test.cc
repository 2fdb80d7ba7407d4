// A primary and a streaming-replication standby (pg_basebackup -R), both on
// loopback; Sessions over the multi-host URL
// postgres://primary,standby/db?target_session_attrs=read-write. Under a
// login/check/revoke load the primary is killed (SIGKILL to its group: an
// immediate stop) and the standby promoted; the store reconnects to the new
// primary. The standby's replication connection is cut 1 s before the
// primary dies (a lagging standby). With synchronous commit (synchronous_standby_names on the
// primary) no acknowledged session is lost and no revoked one comes back;
// with asynchronous commit what was lost is printed. Recovery is polled to a
// deadline, never asserted as a duration; the servers are stopped by PID.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "postgres/postgres_support.hpp"
#include "support/failover_workload.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

// Polls `sql` on `db` until it returns `want`; fails the test after `limit`.
void WaitFor(RawPostgres& db, const std::string& sql, const std::string& want,
             std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (db.Query(sql) != want) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
}

// Drops the replication lines of a pg_hba.conf: the standby cannot
// reconnect once its connection is cut (after a reload).
void RefuseReplication(const std::string& hba) {
  std::ifstream in(hba);
  REQUIRE(in);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.find("replication") == std::string::npos) kept += line + "\n";
  }
  in.close();
  std::ofstream(hba, std::ios::trunc) << kept;
}

void RunFailover(bool synchronous) {
  auto primary = StartPostgres();
  WaitPostgresReady(primary->port());
  const std::string table = "fo_sessions";
  const std::string url = "postgres://jeff@" + primary->address() + ",127.0.0.1:";
  auto standby = StartPostgresStandby(primary->port());
  WaitPostgresReady(standby->port());
  RawPostgres primary_db(primary->port());
  WaitFor(primary_db, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", "1");
  RawPostgres standby_db(standby->port());
  if (synchronous) {
    primary_db.Query("ALTER SYSTEM SET synchronous_standby_names = '*'");
    primary_db.Query("SELECT pg_reload_conf()");
    WaitFor(primary_db, "SELECT sync_state FROM pg_stat_replication", "sync");
  }

  Options o;
  o.store = MakePostgresStore(url + std::to_string(standby->port()) +
                              "/postgres?target_session_attrs=read-write&table=" + table +
                              "&create_table=1&connect_timeout=2&timeout=2s&pool_size=4");
  o.key_prefix = "fo" + std::to_string(std::random_device{}()) + ":";
  o.max_sessions_per_key = 0;
  o.touch_interval = std::chrono::seconds(0);  // Check reads only
  Sessions sessions(o);

  FailoverWorkload load(sessions, o.key_prefix, 120, 4, [](const std::string&) { return 0; });
  load.Prepare();
  load.Start(0);
  std::this_thread::sleep_for(1s);
  // The worst case of a lagging standby: its replication connection is cut
  // for 1 s of load, then the primary dies.
  load.MarkFault();
  RefuseReplication(primary->dir() + "/data/pg_hba.conf");
  primary_db.Query("SELECT pg_reload_conf()");
  primary_db.Query("SELECT pg_terminate_backend(pid) FROM pg_stat_replication");
  std::this_thread::sleep_for(1s);
  primary->Kill();
  const auto promote = std::chrono::steady_clock::now();
  standby_db.Query("SELECT pg_promote()");  // waits until promoted
  MESSAGE("promotion took " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - promote)
                                   .count()
                            << " ms");
  FinishRun(load,
            synchronous ? "postgres failover, synchronous commit"
                        : "postgres failover, asynchronous commit",
            synchronous, true);
  CHECK(load.store_errors.load() > 0);  // the fault was seen
}

TEST_CASE("primary killed, standby promoted: synchronous commit loses nothing acknowledged") {
  RunFailover(true);
}

TEST_CASE("primary killed, standby promoted: asynchronous commit (losses printed)") {
  RunFailover(false);
}

}  // namespace
}  // namespace jeff::test
