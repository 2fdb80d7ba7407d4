#include <doctest/doctest.h>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/store_contract.hpp"

using namespace std::chrono_literals;

TEST_CASE("memory store passes the store contract") {
  jeff::ManualClock clock;
  jeff::test::StoreHarness h;
  h.make = [&] {
    jeff::MemoryStoreOptions o;
    o.clock = clock.AsClock();
    return std::make_shared<jeff::MemoryStore>(o);
  };
  h.advance = [&](std::chrono::milliseconds d) { clock.Advance(d); };
  h.threads = 8;
  h.increments_per_thread = 500;
  jeff::test::RunStoreContract(h);
}

TEST_CASE("memory store reclaims expired entries that are never read again") {
  jeff::ManualClock clock;
  jeff::MemoryStoreOptions o;
  o.clock = clock.AsClock();
  o.shards = 1;
  o.sweep_interval = 1s;
  jeff::MemoryStore store(o);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(store.CompareAndSwap("k" + std::to_string(i), std::nullopt, "v", 500ms).value());
  }
  CHECK(store.size() == 100);
  clock.Advance(2s);
  // Any write past the sweep interval reclaims the shard's expired entries.
  REQUIRE(store.CompareAndSwap("fresh", std::nullopt, "v", 10s).value());
  CHECK(store.size() == 1);
}

TEST_CASE("memory store refuses values over its limit and non-positive ttls") {
  jeff::MemoryStoreOptions o;
  o.max_value_bytes = 10;
  jeff::MemoryStore store(o);
  auto big = store.CompareAndSwap("k", std::nullopt, std::string(11, 'x'), 1s);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error() == jeff::Errc::kValueTooLarge);
  CHECK_FALSE(store.Fetch("k").value().has_value());
  auto zero = store.CompareAndSwap("k", std::nullopt, "x", 0ms);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error() == jeff::Errc::kInvalidArgument);
}

TEST_CASE("memory store rounds the shard count up to a power of two") {
  jeff::MemoryStoreOptions o;
  o.shards = 3;
  jeff::MemoryStore store(o);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(store.CompareAndSwap("k" + std::to_string(i), std::nullopt, "v", 1s).value());
  }
  for (int i = 0; i < 50; ++i) {
    CHECK(store.Fetch("k" + std::to_string(i)).value().has_value());
  }
}
