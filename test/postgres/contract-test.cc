// The unchanged store contract suite on a real PostgreSQL server.
#include <doctest/doctest.h>

#include <thread>

#include "postgres/postgres_support.hpp"
#include "support/store_contract.hpp"

namespace jeff::test {
namespace {

TEST_CASE("PostgreSQL store passes the store contract") {
  StoreHarness h;
  const std::uint16_t port = SharedPostgres().port();
  h.make = [port] { return std::make_shared<PostgresStore>(TestOptions(port)); };
  h.advance = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  h.short_ttl = std::chrono::milliseconds(1000);
  h.threads = 8;
  h.increments_per_thread = 50;
  RunStoreContract(h);
}

}  // namespace
}  // namespace jeff::test
