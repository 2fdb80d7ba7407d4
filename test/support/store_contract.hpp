#pragma once
// The Store contract suite: written once, run unchanged against every store
// (memory, Redis, Redis Cluster, memcached). Call RunStoreContract from a
// TEST_CASE; it uses SUBCASEs, so the harness's make() is called per subcase.

#include <doctest/doctest.h>
#include <jeff/store.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace jeff::test {

/// What the contract suite needs to know about the store under test.
struct StoreHarness {
  /// A store to test (fresh or shared: keys are unique per subcase).
  std::function<std::shared_ptr<Store>()> make;
  /// Moves the store's time forward: a ManualClock for the memory store,
  /// a real sleep for servers.
  std::function<void(std::chrono::milliseconds)> advance;
  /// A TTL that the expiry subcase can wait out (servers: about 1-2 s).
  std::chrono::milliseconds short_ttl{1000};
  /// Threads and increments of the concurrent CAS subcase.
  int threads = 8;
  int increments_per_thread = 50;
};

/// A store key unique to this process and call, safe for every backend.
inline std::string UniqueKey(std::string_view what) {
  static std::atomic<unsigned> counter{0};
  static const unsigned run = std::random_device{}();
  return "jeff-test:" + std::string(what) + ":" + std::to_string(run) + ":" +
         std::to_string(counter.fetch_add(1));
}

/// Calls `store` until a write succeeds (a server back after an outage),
/// or fails the test after `limit`; then checks that the write is readable.
inline void WaitRecovered(Store& store, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const std::string key = UniqueKey("recovered");
  while (!store.CompareAndSwap(key, std::nullopt, "ok", std::chrono::minutes(10)).ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(store.Fetch(key).value()->value == "ok");
}

inline void RunStoreContract(const StoreHarness& h) {
  using std::chrono::milliseconds;
  const milliseconds long_ttl = std::chrono::minutes(10);
  std::shared_ptr<Store> store = h.make();
  REQUIRE(store);

  SUBCASE("a missing key is not an error") {
    auto got = store->Fetch(UniqueKey("missing"));
    REQUIRE(got.ok());
    CHECK_FALSE(got->has_value());
  }

  SUBCASE("add, fetch, compare-and-swap round trip") {
    const std::string key = UniqueKey("roundtrip");
    auto added = store->CompareAndSwap(key, std::nullopt, "v1", long_ttl);
    REQUIRE(added.ok());
    CHECK(*added);
    auto got = store->Fetch(key);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->value == "v1");
    const Version v1 = (*got)->version;

    auto swapped = store->CompareAndSwap(key, v1, "v2", long_ttl);
    REQUIRE(swapped.ok());
    CHECK(*swapped);
    got = store->Fetch(key);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->value == "v2");
    CHECK((*got)->version != v1);
  }

  SUBCASE("adding an existing key loses the race") {
    const std::string key = UniqueKey("add-twice");
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "first", long_ttl).value());
    auto again = store->CompareAndSwap(key, std::nullopt, "second", long_ttl);
    REQUIRE(again.ok());
    CHECK_FALSE(*again);
    CHECK(store->Fetch(key).value()->value == "first");
  }

  SUBCASE("a stale version loses the race and changes nothing") {
    const std::string key = UniqueKey("stale");
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "a", long_ttl).value());
    const Version old = store->Fetch(key).value()->version;
    REQUIRE(store->CompareAndSwap(key, old, "b", long_ttl).value());
    auto lost = store->CompareAndSwap(key, old, "c", long_ttl);
    REQUIRE(lost.ok());
    CHECK_FALSE(*lost);
    CHECK(store->Fetch(key).value()->value == "b");
  }

  SUBCASE("a version against a missing key loses the race") {
    const std::string key = UniqueKey("cas-missing");
    auto lost = store->CompareAndSwap(key, Version{12345}, "x", long_ttl);
    REQUIRE(lost.ok());
    CHECK_FALSE(*lost);
    CHECK_FALSE(store->Fetch(key).value().has_value());
  }

  SUBCASE("values are binary-safe") {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    all += std::string("\0\r\n\0", 4);
    const std::string key = UniqueKey("binary");
    REQUIRE(store->CompareAndSwap(key, std::nullopt, all, long_ttl).value());
    CHECK(store->Fetch(key).value()->value == all);

    std::string large(200 * 1024, '\0');
    std::mt19937 rng(7);
    for (auto& c : large) c = static_cast<char>(rng());
    const std::string big_key = UniqueKey("large");
    REQUIRE(store->CompareAndSwap(big_key, std::nullopt, large, long_ttl).value());
    CHECK(store->Fetch(big_key).value()->value == large);

    const std::string empty_key = UniqueKey("empty");
    REQUIRE(store->CompareAndSwap(empty_key, std::nullopt, "", long_ttl).value());
    auto empty = store->Fetch(empty_key).value();
    REQUIRE(empty.has_value());
    CHECK(empty->value.empty());
  }

  SUBCASE("erase removes, and erasing a missing key succeeds") {
    const std::string key = UniqueKey("erase");
    CHECK(store->Erase(key).ok());
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "gone soon", long_ttl).value());
    const Version before = store->Fetch(key).value()->version;
    CHECK(store->Erase(key).ok());
    CHECK_FALSE(store->Fetch(key).value().has_value());
    // A writer that read before the erase must not resurrect the value.
    auto resurrect = store->CompareAndSwap(key, before, "back", long_ttl);
    REQUIRE(resurrect.ok());
    CHECK_FALSE(*resurrect);
    CHECK_FALSE(store->Fetch(key).value().has_value());
    CHECK(store->Erase(key).ok());
  }

  SUBCASE("values expire after their ttl, and the key is free again") {
    const std::string key = UniqueKey("expiry");
    const std::string kept = UniqueKey("expiry-kept");
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "short", h.short_ttl).value());
    REQUIRE(store->CompareAndSwap(kept, std::nullopt, "long", long_ttl).value());
    CHECK(store->Fetch(key).value().has_value());
    h.advance(h.short_ttl * 2 + milliseconds(1100));
    auto got = store->Fetch(key);
    REQUIRE(got.ok());
    CHECK_FALSE(got->has_value());
    CHECK(store->Fetch(kept).value()->value == "long");
    auto again = store->CompareAndSwap(key, std::nullopt, "new", long_ttl);
    REQUIRE(again.ok());
    CHECK(*again);
  }

  SUBCASE("compare-and-swap sets a new ttl with the value") {
    const std::string key = UniqueKey("ttl-extend");
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "v", h.short_ttl).value());
    const Version v = store->Fetch(key).value()->version;
    REQUIRE(store->CompareAndSwap(key, v, "v2", long_ttl).value());
    h.advance(h.short_ttl * 2 + milliseconds(1100));
    auto got = store->Fetch(key).value();
    REQUIRE(got.has_value());
    CHECK(got->value == "v2");
  }

  SUBCASE("concurrent compare-and-swap loses no update") {
    const std::string key = UniqueKey("counter");
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "0", long_ttl).value());
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < h.threads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < h.increments_per_thread; ++i) {
          for (int attempt = 0;; ++attempt) {
            auto got = store->Fetch(key);
            if (!got.ok() || !got->has_value() || attempt > 10000) {
              failures.fetch_add(1);
              break;
            }
            const std::string next = std::to_string(std::stoi((*got)->value) + 1);
            auto swapped = store->CompareAndSwap(key, (*got)->version, next, long_ttl);
            if (!swapped.ok()) {
              failures.fetch_add(1);
              break;
            }
            if (*swapped) break;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
    CHECK(store->Fetch(key).value()->value ==
          std::to_string(h.threads * h.increments_per_thread));
  }

  SUBCASE("keys are independent") {
    const std::string a = UniqueKey("a");
    const std::string b = UniqueKey("b");
    REQUIRE(store->CompareAndSwap(a, std::nullopt, "A", long_ttl).value());
    REQUIRE(store->CompareAndSwap(b, std::nullopt, "B", long_ttl).value());
    CHECK(store->Erase(a).ok());
    CHECK(store->Fetch(b).value()->value == "B");
  }

  SUBCASE("FetchInto reads what Fetch reads, into the caller's buffer") {
    const std::string key = UniqueKey("into");
    std::string buffer(1000, 'x');  // longer than the value: must be replaced, not overwritten
    auto missing = store->FetchInto(key, buffer);
    REQUIRE(missing.ok());
    CHECK_FALSE(missing->has_value());
    REQUIRE(store->CompareAndSwap(key, std::nullopt, std::string("v\0alue", 6), long_ttl).value());
    auto got = store->FetchInto(key, buffer);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK(buffer == std::string("v\0alue", 6));
    const auto fetched = store->Fetch(key).value();
    REQUIRE(fetched.has_value());
    CHECK(**got == fetched->version);
    // The version it returns is the one to pass back.
    REQUIRE(store->CompareAndSwap(key, **got, "second", long_ttl).value());
    got = store->FetchInto(key, buffer);
    REQUIRE(got.ok());
    CHECK(buffer == "second");
    CHECK(**got != fetched->version);
  }
}

}  // namespace jeff::test
