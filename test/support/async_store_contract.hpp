#pragma once
// The AsyncStore contract suite: the Store contract (store_contract.hpp)
// through the asynchronous calls, written once and run unchanged against
// every async store (memory inline, memcached and PostgreSQL through
// PooledAsyncStore, Redis). Driven on an io_context run by the test's own
// thread. Call RunAsyncStoreContract from a TEST_CASE; it uses SUBCASEs, so
// the harness's make() is called per subcase.

#include <doctest/doctest.h>
#include <jeff/async_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/store_contract.hpp"

namespace jeff::test {

/// What the async contract suite needs to know about the store under test.
struct AsyncStoreHarness {
  /// A store to test whose completions run on `loop` (fresh or shared:
  /// keys are unique per subcase).
  std::function<std::shared_ptr<AsyncStore>(boost::asio::any_io_executor loop)> make;
  /// Moves the store's time forward: a ManualClock for the memory store,
  /// a real sleep for servers.
  std::function<void(std::chrono::milliseconds)> advance;
  /// A TTL that the expiry subcase can wait out (servers: about 1-2 s).
  std::chrono::milliseconds short_ttl{1000};
  /// Chains of fetch + compare-and-swap interleaved on the one loop thread
  /// in the concurrent subcase, and the increments each chain makes.
  int chains = 8;
  int increments_per_chain = 50;
};

/// Runs `loop` on this thread until `done()` (then also the handlers already
/// due, so that a second call of a handler shows). Fails the test when the
/// loop runs out of work first (a pending call must keep it busy) or after
/// `limit`. A store may keep work of its own (a connection's read), so the
/// loop is not run until it is idle.
inline void RunLoopUntil(boost::asio::io_context& loop, const std::function<bool()>& done,
                         std::chrono::seconds limit = std::chrono::seconds(120)) {
  loop.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (loop.run_one_until(deadline) == 0 && !done()) {
      const std::string why = loop.stopped() ? "the loop ran out of work with a call pending"
                                             : "no completion within the limit";
      FAIL(why);
    }
  }
  loop.poll();
}

/// The harness of a store on a real server: `make`, real sleeps, a 1 s TTL,
/// 8 chains of 50 increments.
inline AsyncStoreHarness ServerAsyncHarness(
    std::function<std::shared_ptr<AsyncStore>(boost::asio::any_io_executor)> make) {
  AsyncStoreHarness h;
  h.make = std::move(make);
  h.advance = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  h.short_ttl = std::chrono::milliseconds(1000);
  h.chains = 8;
  h.increments_per_chain = 50;
  return h;
}

/// Calls an AsyncStore as a test does: each call starts the operation with
/// arguments that are overwritten as soon as it returned (the store must
/// have copied them), runs the loop until it has no work left, and checks
/// that the handler was called exactly once, on the loop's thread.
class AsyncStoreDriver {
 public:
  AsyncStoreDriver(AsyncStore& store, boost::asio::io_context& loop) : store_(store), loop_(loop) {}

  Result<std::optional<Versioned>> Fetch(std::string_view key) {
    return Await<Result<std::optional<Versioned>>>([&](auto done) {
      std::string k(key);
      store_.AsyncFetch(k, std::move(done));
      Scribble(k);
    });
  }

  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                              std::string_view value, std::chrono::milliseconds ttl) {
    return Await<Result<bool>>([&](auto done) {
      std::string k(key);
      std::string v(value);
      store_.AsyncCompareAndSwap(k, expected, v, ttl, std::move(done));
      Scribble(k);
      Scribble(v);
    });
  }

  Result<void> Erase(std::string_view key) {
    return Await<Result<void>>([&](auto done) {
      std::string k(key);
      store_.AsyncErase(k, std::move(done));
      Scribble(k);
    });
  }

 private:
  // Overwrites a caller's buffer in place, as a reused request buffer would be.
  static void Scribble(std::string& s) { std::fill(s.begin(), s.end(), '#'); }

  template <typename R, typename Start>
  R Await(Start start) {
    struct Outcome {
      std::atomic<int> calls{0};
      std::atomic<bool> off_loop{false};
      std::optional<R> result;
    };
    auto outcome = std::make_shared<Outcome>();
    const std::thread::id loop_thread = std::this_thread::get_id();
    start([outcome, loop_thread](R r) {
      if (std::this_thread::get_id() != loop_thread) outcome->off_loop = true;
      if (outcome->calls.fetch_add(1) == 0) outcome->result.emplace(std::move(r));
    });
    RunLoopUntil(loop_, [&] { return outcome->calls.load() > 0; });
    CHECK(outcome->calls.load() == 1);
    CHECK_FALSE(outcome->off_loop.load());
    REQUIRE(outcome->result.has_value());
    return std::move(*outcome->result);
  }

  AsyncStore& store_;
  boost::asio::io_context& loop_;
};

inline void RunAsyncStoreContract(const AsyncStoreHarness& h) {
  using std::chrono::milliseconds;
  const milliseconds long_ttl = std::chrono::minutes(10);
  boost::asio::io_context loop;
  std::shared_ptr<AsyncStore> async_store = h.make(loop.get_executor());
  REQUIRE(async_store);
  AsyncStoreDriver store(*async_store, loop);

  SUBCASE("a missing key is not an error") {
    auto got = store.Fetch(UniqueKey("missing"));
    REQUIRE(got.ok());
    CHECK_FALSE(got->has_value());
  }

  SUBCASE("add, fetch, compare-and-swap round trip") {
    const std::string key = UniqueKey("roundtrip");
    auto added = store.CompareAndSwap(key, std::nullopt, "v1", long_ttl);
    REQUIRE(added.ok());
    CHECK(*added);
    auto got = store.Fetch(key);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->value == "v1");
    const Version v1 = (*got)->version;

    auto swapped = store.CompareAndSwap(key, v1, "v2", long_ttl);
    REQUIRE(swapped.ok());
    CHECK(*swapped);
    got = store.Fetch(key);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->value == "v2");
    CHECK((*got)->version != v1);
  }

  SUBCASE("adding an existing key loses the race") {
    const std::string key = UniqueKey("add-twice");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, "first", long_ttl).value());
    auto again = store.CompareAndSwap(key, std::nullopt, "second", long_ttl);
    REQUIRE(again.ok());
    CHECK_FALSE(*again);
    CHECK(store.Fetch(key).value()->value == "first");
  }

  SUBCASE("a stale version loses the race and changes nothing") {
    const std::string key = UniqueKey("stale");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, "a", long_ttl).value());
    const Version old = store.Fetch(key).value()->version;
    REQUIRE(store.CompareAndSwap(key, old, "b", long_ttl).value());
    auto lost = store.CompareAndSwap(key, old, "c", long_ttl);
    REQUIRE(lost.ok());
    CHECK_FALSE(*lost);
    CHECK(store.Fetch(key).value()->value == "b");
  }

  SUBCASE("a version against a missing key loses the race") {
    const std::string key = UniqueKey("cas-missing");
    auto lost = store.CompareAndSwap(key, Version{12345}, "x", long_ttl);
    REQUIRE(lost.ok());
    CHECK_FALSE(*lost);
    CHECK_FALSE(store.Fetch(key).value().has_value());
  }

  SUBCASE("values are binary-safe") {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    all += std::string("\0\r\n\0", 4);
    const std::string key = UniqueKey("binary");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, all, long_ttl).value());
    CHECK(store.Fetch(key).value()->value == all);

    std::string large(200 * 1024, '\0');
    std::mt19937 rng(7);
    for (auto& c : large) c = static_cast<char>(rng());
    const std::string big_key = UniqueKey("large");
    REQUIRE(store.CompareAndSwap(big_key, std::nullopt, large, long_ttl).value());
    CHECK(store.Fetch(big_key).value()->value == large);

    const std::string empty_key = UniqueKey("empty");
    REQUIRE(store.CompareAndSwap(empty_key, std::nullopt, "", long_ttl).value());
    auto empty = store.Fetch(empty_key).value();
    REQUIRE(empty.has_value());
    CHECK(empty->value.empty());
  }

  SUBCASE("erase removes, and erasing a missing key succeeds") {
    const std::string key = UniqueKey("erase");
    CHECK(store.Erase(key).ok());
    REQUIRE(store.CompareAndSwap(key, std::nullopt, "gone soon", long_ttl).value());
    const Version before = store.Fetch(key).value()->version;
    CHECK(store.Erase(key).ok());
    CHECK_FALSE(store.Fetch(key).value().has_value());
    // A writer that read before the erase must not resurrect the value.
    auto resurrect = store.CompareAndSwap(key, before, "back", long_ttl);
    REQUIRE(resurrect.ok());
    CHECK_FALSE(*resurrect);
    CHECK_FALSE(store.Fetch(key).value().has_value());
    CHECK(store.Erase(key).ok());
  }

  SUBCASE("values expire after their ttl, and the key is free again") {
    const std::string key = UniqueKey("expiry");
    const std::string kept = UniqueKey("expiry-kept");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, "short", h.short_ttl).value());
    REQUIRE(store.CompareAndSwap(kept, std::nullopt, "long", long_ttl).value());
    CHECK(store.Fetch(key).value().has_value());
    h.advance(h.short_ttl * 2 + milliseconds(1100));
    auto got = store.Fetch(key);
    REQUIRE(got.ok());
    CHECK_FALSE(got->has_value());
    CHECK(store.Fetch(kept).value()->value == "long");
    auto again = store.CompareAndSwap(key, std::nullopt, "new", long_ttl);
    REQUIRE(again.ok());
    CHECK(*again);
  }

  SUBCASE("compare-and-swap sets a new ttl with the value") {
    const std::string key = UniqueKey("ttl-extend");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, "v", h.short_ttl).value());
    const Version v = store.Fetch(key).value()->version;
    REQUIRE(store.CompareAndSwap(key, v, "v2", long_ttl).value());
    h.advance(h.short_ttl * 2 + milliseconds(1100));
    auto got = store.Fetch(key).value();
    REQUIRE(got.has_value());
    CHECK(got->value == "v2");
  }

  SUBCASE("keys are independent") {
    const std::string a = UniqueKey("a");
    const std::string b = UniqueKey("b");
    REQUIRE(store.CompareAndSwap(a, std::nullopt, "A", long_ttl).value());
    REQUIRE(store.CompareAndSwap(b, std::nullopt, "B", long_ttl).value());
    CHECK(store.Erase(a).ok());
    CHECK(store.Fetch(b).value()->value == "B");
  }

  SUBCASE("many calls in flight at once each complete once, with their own outcome") {
    constexpr int kCalls = 64;
    std::vector<std::string> keys;
    for (int i = 0; i < kCalls; ++i) {
      keys.push_back(UniqueKey("inflight"));
      REQUIRE(store.CompareAndSwap(keys.back(), std::nullopt, "value-" + std::to_string(i), long_ttl)
                  .value());
    }
    std::vector<int> calls(kCalls, 0);
    std::vector<std::string> seen(kCalls);
    for (int i = 0; i < kCalls; ++i) {
      async_store->AsyncFetch(keys[static_cast<std::size_t>(i)],
                              [&, i](Result<std::optional<Versioned>> got) {
                                const auto at = static_cast<std::size_t>(i);
                                ++calls[at];
                                if (got.ok() && got->has_value()) seen[at] = (*got)->value;
                              });
    }
    RunLoopUntil(loop, [&] {
      return std::all_of(calls.begin(), calls.end(), [](int n) { return n > 0; });
    });
    for (int i = 0; i < kCalls; ++i) {
      const auto at = static_cast<std::size_t>(i);
      CHECK(calls[at] == 1);
      CHECK(seen[at] == "value-" + std::to_string(i));
    }
  }

  SUBCASE("concurrent compare-and-swap chains on one loop lose no update") {
    // Each chain fetches, increments and swaps, retrying a lost race, with
    // the next step posted to the loop (so inline completions interleave
    // too, and the stack stays flat). Handlers call the store again.
    const std::string key = UniqueKey("counter");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, "0", long_ttl).value());
    AsyncStore& s = *async_store;
    int failures = 0;
    std::vector<int> remaining(static_cast<std::size_t>(h.chains), h.increments_per_chain);
    std::function<void(std::size_t, int)> step = [&](std::size_t chain, int attempt) {
      auto again = [&step, chain](int next_attempt) {
        return [&step, chain, next_attempt] { step(chain, next_attempt); };
      };
      s.AsyncFetch(key, [&, chain, attempt, again](Result<std::optional<Versioned>> got) {
        if (!got.ok() || !got->has_value() || attempt > 10000) {
          ++failures;
          remaining[chain] = 0;
          return;
        }
        const std::string value = std::to_string(std::stoi((*got)->value) + 1);
        s.AsyncCompareAndSwap(
            key, (*got)->version, value, long_ttl, [&, chain, attempt, again](Result<bool> swapped) {
              if (!swapped.ok()) {
                ++failures;
                remaining[chain] = 0;
              } else if (!*swapped) {
                boost::asio::post(loop, again(attempt + 1));  // lost the race: re-read
              } else if (--remaining[chain] > 0) {
                boost::asio::post(loop, again(0));
              }
            });
      });
    };
    for (std::size_t c = 0; c < remaining.size(); ++c) {
      boost::asio::post(loop, [&step, c] { step(c, 0); });
    }
    RunLoopUntil(loop, [&] {
      return std::all_of(remaining.begin(), remaining.end(), [](int r) { return r == 0; });
    });
    CHECK(failures == 0);
    for (int r : remaining) CHECK(r == 0);
    CHECK(store.Fetch(key).value()->value == std::to_string(h.chains * h.increments_per_chain));
  }
}

}  // namespace jeff::test
