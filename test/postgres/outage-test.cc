// PostgresStore when things go wrong, on a real server: killed and
// restarted, frozen (SIGSTOP of the whole server), nothing listening. Every
// failure is a store error within the configured timeouts (never a miss,
// never a hang), and the same store object recovers once the server is back.
#include <doctest/doctest.h>

#include <jeff/sessions.hpp>

#include <thread>

#include "postgres/postgres_support.hpp"
#include "support/cookies.hpp"
#include "support/store_contract.hpp"

namespace jeff::test {
namespace {

using std::chrono::milliseconds;
const std::chrono::minutes kLongTtl(10);

TEST_CASE("a killed server: store errors, then the same store recovers with the data") {
  auto server = StartPostgres();
  WaitPostgresReady(server->port());
  auto store = std::make_shared<PostgresStore>(TestOptions(server->port()));
  Options options;
  options.store = store;
  Sessions sessions(options);
  auto issued = sessions.Set("alice", "");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);
  REQUIRE(sessions.Check(cookie).ok());

  server->Kill();
  for (int i = 0; i < 5; ++i) {
    auto checked = sessions.Check(cookie);
    CHECK(checked.status == CheckStatus::kStoreError);
    CHECK(IsStoreError(checked.error));
    CHECK_FALSE(sessions.Set("bob", "").ok());
  }
  server->Restart();
  WaitPostgresReady(server->port());
  WaitRecovered(*store, milliseconds(20000));
  // The row was committed (WAL written) before the kill; crash recovery
  // replays it.
  CHECK(sessions.Check(cookie).ok());
}

TEST_CASE("a frozen server: kStoreTimeout within the timeout, then recovery") {
  auto server = StartPostgres();
  WaitPostgresReady(server->port());
  CreateTestTable(server->port());
  PostgresStoreOptions o = TestOptions(server->port());
  o.create_table = false;  // created above: the 300 ms are not for the DDL
  o.command_timeout = milliseconds(300);
  o.connect_timeout = milliseconds(300);
  o.pool_timeout = milliseconds(300);
  PostgresStore store(o);
  const std::string key = UniqueKey("frozen");
  REQUIRE(store.CompareAndSwap(key, std::nullopt, "v", kLongTtl).value());

  server->Pause();
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto got = store.Fetch(key);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(got.ok());
    CHECK(got.error() == Errc::kStoreTimeout);
    // The timeout plus scheduling slack; never a hang.
    CHECK(took < milliseconds(3000));
  }
  server->Resume();
  WaitRecovered(store, milliseconds(20000));
  CHECK(store.Fetch(key).value()->value == "v");
}

TEST_CASE("nothing listening: kStoreUnavailable at once, with back-off") {
  PostgresStoreOptions o = TestOptions(FreePort());
  PostgresStore store(o);
  for (int i = 0; i < 3; ++i) {
    CHECK(store.Fetch("k").error() == Errc::kStoreUnavailable);
    CHECK(store.Erase("k").error() == Errc::kStoreUnavailable);
  }
}

}  // namespace
}  // namespace jeff::test
