// MemoryStore as an AsyncStore: the async contract on an io_context, inline
// completion, and calls from many threads at once without any loop.
#include <doctest/doctest.h>
#include <jeff/stores/memory/memory_store.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/async_store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

TEST_CASE("memory store passes the async store contract") {
  ManualClock clock;
  AsyncStoreHarness h;
  h.make = [&](boost::asio::any_io_executor) {
    MemoryStoreOptions o;
    o.clock = clock.AsClock();
    return std::make_shared<MemoryStore>(o);
  };
  h.advance = [&](std::chrono::milliseconds d) { clock.Advance(d); };
  h.chains = 8;
  h.increments_per_chain = 500;
  RunAsyncStoreContract(h);
}

TEST_CASE("memory store completes each async call before it returns") {
  MemoryStore store;
  const std::string key = UniqueKey("inline");
  std::optional<Result<bool>> swapped;
  store.AsyncCompareAndSwap(key, std::nullopt, "v", 1min, [&](Result<bool> r) { swapped = r; });
  REQUIRE(swapped.has_value());
  CHECK(swapped->value());

  std::optional<Result<std::optional<Versioned>>> fetched;
  store.AsyncFetch(key, [&](Result<std::optional<Versioned>> r) { fetched = std::move(r); });
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->value().has_value());
  CHECK(fetched->value()->value == "v");

  bool erased = false;
  store.AsyncErase(key, [&](Result<void> r) { erased = r.ok(); });
  CHECK(erased);
  CHECK_FALSE(store.Fetch(key).value().has_value());
}

TEST_CASE("memory store reports its errors through the async handler") {
  MemoryStoreOptions o;
  o.max_value_bytes = 4;
  MemoryStore store(o);
  std::optional<Result<bool>> too_large;
  store.AsyncCompareAndSwap("k", std::nullopt, "12345", 1min, [&](Result<bool> r) { too_large = r; });
  REQUIRE(too_large.has_value());
  CHECK(too_large->error() == Errc::kValueTooLarge);
  std::optional<Result<bool>> zero_ttl;
  store.AsyncCompareAndSwap("k", std::nullopt, "1", 0ms, [&](Result<bool> r) { zero_ttl = r; });
  REQUIRE(zero_ttl.has_value());
  CHECK(zero_ttl->error() == Errc::kInvalidArgument);
}

TEST_CASE("memory store's async calls may come from many threads at once") {
  // The async API of MemoryStore needs no loop and is thread-safe, like its
  // synchronous one: concurrent increments through the handlers lose none.
  MemoryStore store;
  AsyncStore& async = store;
  const std::string key = UniqueKey("threads");
  REQUIRE(store.CompareAndSwap(key, std::nullopt, "0", 10min).value());
  constexpr int kThreads = 8;
  constexpr int kIncrements = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        bool done = false;
        while (!done) {
          async.AsyncFetch(key, [&](Result<std::optional<Versioned>> got) {
            if (!got.ok() || !got->has_value()) {
              failures.fetch_add(1);
              done = true;
              return;
            }
            const std::string next = std::to_string(std::stoi((*got)->value) + 1);
            async.AsyncCompareAndSwap(key, (*got)->version, next, 10min, [&](Result<bool> swapped) {
              if (!swapped.ok()) failures.fetch_add(1);
              done = !swapped.ok() || *swapped;
            });
          });
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(store.Fetch(key).value()->value == std::to_string(kThreads * kIncrements));
}

}  // namespace
}  // namespace jeff::test
