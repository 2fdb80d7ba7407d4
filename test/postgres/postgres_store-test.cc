// What the PostgreSQL store does beyond the generic contract, on a real
// server: the table it creates (and the installed schema file), versions
// that never repeat, expired rows invisible and swept in bounded batches,
// concurrent table creation, values of every byte.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <thread>
#include <vector>

#include "postgres/postgres_support.hpp"
#include "support/key_listing_contract.hpp"
#include "support/store_contract.hpp"

namespace jeff::test {
namespace {

using std::chrono::milliseconds;
const std::chrono::minutes kLongTtl(10);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_CASE("the installed schema file is what create_table runs") {
  std::string file = ReadFile(JEFF_SOURCE_ROOT "/stores/postgres/postgres-schema.sql");
  // Without its leading comment lines.
  while (file.starts_with("--")) file.erase(0, file.find('\n') + 1);
  CHECK(file == PostgresSchemaSql("jeff_sessions"));
  CHECK_THROWS_AS(PostgresSchemaSql("sessions; DROP TABLE users"), std::invalid_argument);
}

TEST_CASE("create_table makes the table once, even when many stores start at once") {
  const std::uint16_t port = SharedPostgres().port();
  RawPostgres raw(port);
  raw.Query("CREATE SCHEMA IF NOT EXISTS app");
  std::vector<std::thread> starters;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i) {
    starters.emplace_back([&] {
      PostgresStore store(TestOptions(port, "app.concurrent_sessions"));
      if (!store.CompareAndSwap(UniqueKey("create"), std::nullopt, "v", kLongTtl).ok()) failures++;
    });
  }
  for (auto& t : starters) t.join();
  CHECK(failures.load() == 0);
  CHECK(raw.Query("SELECT count(*) FROM app.concurrent_sessions") == "6");
  CHECK(raw.Query("SELECT count(*) FROM pg_class WHERE relname = 'concurrent_sessions_version'") == "1");
}

bool Has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST_CASE("without create_table a missing table is a refusal, not a crash or a miss") {
  PostgresStoreOptions o = TestOptions(SharedPostgres().port(), "no_such_table");
  o.create_table = false;
  PostgresStore store(o);
  const auto fetched = store.Fetch("k");
  CHECK(fetched.error() == Errc::kStoreRefused);
  CHECK(Has(ErrorDetail(fetched.error()), "relation \"no_such_table\" does not exist"));
  CHECK(store.CompareAndSwap("k", std::nullopt, "v", kLongTtl).error() == Errc::kStoreRefused);
}

TEST_CASE("a wrong role or database is a refusal in the server's words; nothing listening is an outage") {
  const std::string at = "127.0.0.1:" + std::to_string(SharedPostgres().port());
  auto refused = [](const std::string& conninfo) {
    PostgresStoreOptions o = TestOptions(1);
    o.conninfo = conninfo;
    PostgresStore store(o);
    const auto fetched = store.Fetch("k");
    REQUIRE_FALSE(fetched.ok());
    return std::pair(fetched.error(), ErrorDetail(fetched.error()));
  };
  const auto [role, role_why] = refused("postgresql://nobody_here:Pw1secret@" + at + "/postgres");
  CHECK(role == Errc::kStoreRefused);
  CHECK(Has(role_why, "role \"nobody_here\" does not exist"));
  CHECK_FALSE(Has(role_why, "Pw1secret"));
  const auto [db, db_why] = refused("postgresql://jeff@" + at + "/no_such_db");
  CHECK(db == Errc::kStoreRefused);
  CHECK(Has(db_why, "database \"no_such_db\" does not exist"));
  CHECK(Has(DescribeError(db), "session store refused the request: "));

  const std::string down = "127.0.0.1:" + std::to_string(FreePort());
  const auto [outage, outage_why] = refused("postgresql://jeff@" + down + "/postgres");
  CHECK(outage == Errc::kStoreUnavailable);
  CHECK(Has(outage_why, "Connection refused"));
  CHECK(ErrorDetail(Errc::kStoreRefused) == "");
}

TEST_CASE("ListKeys pages through the live keys of a prefix in key order") {
  PostgresStore store(TestOptions(SharedPostgres().port()));
  RunKeyListingContract(store, "list:");
  // Expired rows are not listed.
  REQUIRE(store.CompareAndSwap("list:kl:short", std::nullopt, "v", milliseconds(1)).value());
  std::this_thread::sleep_for(milliseconds(20));
  CHECK(store.ListKeys("list:kl:", 10, [](std::span<const std::string> keys) -> Result<void> {
    CHECK(keys.empty());
    return {};
  }));
}

TEST_CASE("versions never repeat, also after an erase (no ABA)") {
  PostgresStore store(TestOptions(SharedPostgres().port()));
  const std::string key = UniqueKey("aba");
  REQUIRE(store.CompareAndSwap(key, std::nullopt, "first", kLongTtl).value());
  const Version old = store.Fetch(key).value()->version;
  REQUIRE(store.Erase(key).ok());
  REQUIRE(store.CompareAndSwap(key, std::nullopt, "second", kLongTtl).value());
  CHECK(store.Fetch(key).value()->version != old);
  // A writer still holding the first incarnation's version loses.
  CHECK_FALSE(store.CompareAndSwap(key, old, "stale", kLongTtl).value());
  CHECK(store.Fetch(key).value()->value == "second");
}

TEST_CASE("expired rows are invisible at once, can be taken over, and are swept in batches") {
  const std::uint16_t port = SharedPostgres().port();
  PostgresStoreOptions o = TestOptions(port, "sweep_sessions");
  o.sweep_batch = 7;
  o.sweep_interval = milliseconds(0);  // swept by hand below
  PostgresStore store(o);
  RawPostgres raw(port);
  REQUIRE(store.CompareAndSwap("live", std::nullopt, "v", kLongTtl).value());
  for (int i = 0; i < 30; ++i) {
    REQUIRE(store.CompareAndSwap("old" + std::to_string(i), std::nullopt, "v", milliseconds(1)).value());
  }
  std::this_thread::sleep_for(milliseconds(20));
  CHECK_FALSE(store.Fetch("old0").value().has_value());
  // An expired row's version no longer matches anything; "absent" wins.
  CHECK(store.CompareAndSwap("old0", std::nullopt, "new", kLongTtl).value());
  CHECK(raw.Query("SELECT count(*) FROM sweep_sessions") == "31");
  CHECK(store.Sweep().value() == 29);
  CHECK(raw.Query("SELECT count(*) FROM sweep_sessions") == "2");
  CHECK(store.Fetch("live").value()->value == "v");
  CHECK(store.Fetch("old0").value()->value == "new");
}

TEST_CASE("the background sweep runs every sweep_interval") {
  const std::uint16_t port = SharedPostgres().port();
  PostgresStoreOptions o = TestOptions(port, "background_sweep");
  o.sweep_interval = milliseconds(100);
  PostgresStore store(o);
  RawPostgres raw(port);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(store.CompareAndSwap("gone" + std::to_string(i), std::nullopt, "v", milliseconds(1)).value());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (raw.Query("SELECT count(*) FROM background_sweep") != "0") {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(milliseconds(20));
  }
}

TEST_CASE("keys and values are stored byte for byte; too large is refused before the server") {
  const std::uint16_t port = SharedPostgres().port();
  PostgresStoreOptions o = TestOptions(port);
  o.max_value_bytes = 1000;
  PostgresStore store(o);
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string key = UniqueKey("bytes");
  REQUIRE(store.CompareAndSwap(key, std::nullopt, every_byte, kLongTtl).value());
  CHECK(store.Fetch(key).value()->value == every_byte);
  RawPostgres raw(port);
  CHECK(raw.Query("SELECT length(value) FROM jeff_sessions WHERE key = '" + key + "'") == "256");
  CHECK(store.CompareAndSwap(key, std::nullopt, std::string(1001, 'x'), kLongTtl).error() ==
        Errc::kValueTooLarge);
}

}  // namespace
}  // namespace jeff::test
