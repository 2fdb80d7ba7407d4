// Expiry on a real memcached, on both sides of its 30-day rule (exptimes
// above 30 days are absolute Unix times, read against the injected clock).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "memcached/memcached_support.hpp"
#include "support/store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

constexpr auto kThirtyDays = std::chrono::seconds(2592000);
const auto kLong = 10min;

bool Present(Store& store, const std::string& key) { return store.Fetch(key).value().has_value(); }

TEST_CASE("the 30-day boundary decides whether the injected clock is read") {
  auto server = StartMemcached();
  // A clock 60 days slow: an absolute exptime computed with it lies 30 days
  // in the past, and memcached drops the item at once.
  ManualClock clock(std::chrono::system_clock::now() - std::chrono::days(60));
  MemcachedStoreOptions o = TestOptions({server.get()});
  o.clock = clock.AsClock();
  MemcachedStore slow(o);
  o.clock = {};
  MemcachedStore system(o);

  const std::string below = UniqueKey("below");
  const std::string at = UniqueKey("at");
  const std::string above = UniqueKey("above");
  const std::string system_at = UniqueKey("system-at");
  // 30 days - 1 s: relative, whatever the clock says.
  REQUIRE(slow.CompareAndSwap(below, std::nullopt, "v", kThirtyDays - 1s).value());
  // 30 days and beyond: absolute, from the (slow) clock.
  REQUIRE(slow.CompareAndSwap(at, std::nullopt, "v", kThirtyDays).value());
  REQUIRE(slow.CompareAndSwap(above, std::nullopt, "v", std::chrono::days(45)).value());
  // The same TTL with a correct clock.
  REQUIRE(system.CompareAndSwap(system_at, std::nullopt, "v", kThirtyDays).value());

  CHECK(Present(slow, below));
  CHECK_FALSE(Present(slow, at));
  CHECK_FALSE(Present(slow, above));
  CHECK(Present(system, system_at));

  // Swapping a long TTL onto an existing key follows the same rule.
  const Version v = slow.Fetch(below).value()->version;
  REQUIRE(slow.CompareAndSwap(below, v, "v2", std::chrono::days(31)).value());
  CHECK_FALSE(Present(slow, below));
}

TEST_CASE("real short TTLs on both sides of the boundary") {
  auto server = StartMemcached();
  MemcachedStoreOptions o = TestOptions({server.get()});
  // A clock 30 days slow, less 2 s: a 30-day TTL becomes the absolute time
  // now + 2 s.
  ManualClock clock(std::chrono::system_clock::now() - kThirtyDays + 2s);
  o.clock = clock.AsClock();
  MemcachedStore store(o);

  const std::string absolute = UniqueKey("absolute");
  const std::string relative = UniqueKey("relative");
  const std::string kept = UniqueKey("kept");
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(store.CompareAndSwap(absolute, std::nullopt, "a", kThirtyDays).value());
  REQUIRE(store.CompareAndSwap(relative, std::nullopt, "r", 2s).value());
  REQUIRE(store.CompareAndSwap(kept, std::nullopt, "k", kLong).value());
  CHECK(Present(store, absolute));
  CHECK(Present(store, relative));

  // memcached's clock ticks whole seconds; a TTL must never be cut short.
  std::this_thread::sleep_until(start + 1900ms);
  CHECK(Present(store, relative));

  std::this_thread::sleep_until(start + 4500ms);
  CHECK_FALSE(Present(store, absolute));
  CHECK_FALSE(Present(store, relative));
  CHECK(Present(store, kept));
  // An expired key is free for `add` again.
  CHECK(store.CompareAndSwap(relative, std::nullopt, "again", kLong).value());
}

}  // namespace
}  // namespace jeff::test
