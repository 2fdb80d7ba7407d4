// Server failures: a killed server fails only its own keys, as store
// errors, and is used again after a restart; a stopped server fails calls
// by timeout instead of hanging, and its late replies are never mistaken
// for the answers to later calls. Recovery is polled to a deadline; upper
// bounds on durations hold in optimised builds only (support/timing.hpp).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "memcached/memcached_support.hpp"
#include "support/store_contract.hpp"
#include "support/timing.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

using Clock = std::chrono::steady_clock;

// Keys written through `store`, split by the server that holds them.
struct Placement {
  std::vector<std::string> on_a;
  std::vector<std::string> on_b;
};

Placement WriteKeys(Store& store, const ServerProcess& a, const ServerProcess& b, int count) {
  Placement p;
  for (int i = 0; i < count; ++i) {
    const std::string key = UniqueKey("outage");
    REQUIRE(store.CompareAndSwap(key, std::nullopt, key, 10min).value());
    const bool in_a = ServerHolds(a.port(), key);
    REQUIRE(in_a != ServerHolds(b.port(), key));
    (in_a ? p.on_a : p.on_b).push_back(key);
  }
  REQUIRE_FALSE(p.on_a.empty());
  REQUIRE_FALSE(p.on_b.empty());
  return p;
}

// What a load phase saw, per group of keys.
struct Tally {
  std::atomic<int> ok{0};
  std::atomic<int> store_errors{0};
  std::atomic<int> wrong{0};  // a miss, a wrong value, or a non-store error
  std::atomic<long long> slowest_ms{0};
};

void Note(Tally& t, Clock::time_point start) {
  const long long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  long long seen = t.slowest_ms.load();
  while (ms > seen && !t.slowest_ms.compare_exchange_weak(seen, ms)) {
  }
}

// Runs `round` (true when all its calls succeeded) until it succeeds
// `clean_rounds` times in a row, pausing briefly after a failed one; fails
// the test after `limit`.
template <typename Round>
void PollUntilClean(Round round, int clean_rounds, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (int clean = 0; clean < clean_rounds;) {
    REQUIRE(Clock::now() < deadline);
    if (round()) {
      ++clean;
    } else {
      clean = 0;
      std::this_thread::sleep_for(50ms);
    }
  }
}

// Fetch + read-modify-compare-and-swap on every key from `threads` threads
// for `duration`; a key's value always starts with the key.
void Load(Store& store, const std::vector<std::string>& keys, Tally& tally, int threads,
          std::chrono::milliseconds duration) {
  const auto end = Clock::now() + duration;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); Clock::now() < end; ++i) {
        const std::string& key = keys[i % keys.size()];
        const auto start = Clock::now();
        auto got = store.Fetch(key);
        Note(tally, start);
        if (!got.ok()) {
          (IsStoreError(got.error()) ? tally.store_errors : tally.wrong).fetch_add(1);
          continue;
        }
        if (!got->has_value() || (*got)->value.rfind(key, 0) != 0) {
          tally.wrong.fetch_add(1);
          continue;
        }
        auto swapped = store.CompareAndSwap(key, (*got)->version, key + "+", 10min);
        if (swapped.ok()) {
          tally.ok.fetch_add(1);
        } else {
          (IsStoreError(swapped.error()) ? tally.store_errors : tally.wrong).fetch_add(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
}

TEST_CASE("killing one of two servers under load fails only its keys; a restart recovers") {
  auto a = StartMemcached();
  auto b = StartMemcached();
  MemcachedStoreOptions o = TestOptions({a.get(), b.get()});
  o.pool_size = 8;
  auto store = std::make_shared<MemcachedStore>(o);
  const Placement p = WriteKeys(*store, *a, *b, 64);

  Tally on_a_before;
  Tally on_b_before;
  std::thread before_a([&] { Load(*store, p.on_a, on_a_before, 2, 300ms); });
  Load(*store, p.on_b, on_b_before, 2, 300ms);
  before_a.join();
  CHECK(on_b_before.ok.load() > 0);
  CHECK(on_b_before.store_errors.load() == 0);

  // Kill b while both groups are under load.
  Tally on_a;
  Tally on_b;
  std::thread load_a([&] { Load(*store, p.on_a, on_a, 4, 2000ms); });
  std::thread load_b([&] { Load(*store, p.on_b, on_b, 4, 2000ms); });
  std::this_thread::sleep_for(300ms);
  b->Kill();
  load_a.join();
  load_b.join();
  MESSAGE("a: ", on_a.ok.load(), " ok, ", on_a.store_errors.load(),
          " store errors; b: ", on_b.ok.load(), " ok, ", on_b.store_errors.load(),
          " store errors, slowest ", on_b.slowest_ms.load(), " ms");
  CHECK(on_a.ok.load() > 0);
  CHECK(on_a.store_errors.load() == 0);
  CHECK(on_a.wrong.load() == 0);
  CHECK(on_b.store_errors.load() > 0);
  CHECK(on_b.wrong.load() == 0);  // never a miss: a dead server is an error
  JEFF_CHECK_WITHIN(std::chrono::milliseconds(on_b.slowest_ms.load()), std::chrono::milliseconds(1999));

  // With b still down, its keys fail as unavailable and a's keys work.
  for (const std::string& key : p.on_b) {
    auto got = store->Fetch(key);
    REQUIRE_FALSE(got.ok());
    CHECK(got.error() == Errc::kStoreUnavailable);
  }
  for (const std::string& key : p.on_a) CHECK(store->Fetch(key).value().has_value());

  // Restart b on the same port: the same store object uses it again once
  // the retry timeout has passed. memcached kept nothing, so b's keys read
  // as missing and can be written again, to b (they were not moved).
  b->Restart();
  const auto deadline = Clock::now() + o.retry_timeout + 10s;
  std::size_t recovered = 0;
  while (recovered < p.on_b.size() && Clock::now() < deadline) {
    auto got = store->Fetch(p.on_b[recovered]);
    if (got.ok()) {
      CHECK_FALSE(got->has_value());
      ++recovered;
    } else {
      CHECK(IsStoreError(got.error()));
      std::this_thread::sleep_for(50ms);
    }
  }
  REQUIRE(recovered == p.on_b.size());
  // Every pooled handle has to notice on its own (after retry_timeout): until
  // then a call may fail, as a store error; b's keys are written back.
  PollUntilClean([&] {
    bool clean = true;
    for (const std::string& key : p.on_b) {
      auto got = store->Fetch(key);
      std::error_code error = got.error();
      if (got.ok() && !got->has_value()) {
        auto added = store->CompareAndSwap(key, std::nullopt, key, 10min);
        if (added.ok()) CHECK(*added);
        error = added.error();
      }
      if (error) {
        CHECK(IsStoreError(error));
        clean = false;
      }
    }
    return clean;
  }, 3, o.retry_timeout + 10s);
  for (const std::string& key : p.on_b) CHECK(ServerHolds(b->port(), key));
  for (const std::string& key : p.on_a) CHECK(store->Fetch(key).value().has_value());
  // Then from 4 threads at once (other handles of the pool).
  PollUntilClean([&] {
    Tally after;
    Load(*store, p.on_b, after, 4, 300ms);
    CHECK(after.ok.load() > 0);
    CHECK(after.wrong.load() == 0);
    return after.store_errors.load() == 0;
  }, 1, o.retry_timeout + 10s);
}

TEST_CASE("a stopped server fails calls by timeout, not a hang; late replies are never mistaken") {
  auto server = StartMemcached();
  MemcachedStoreOptions o = TestOptions({server.get()});
  o.io_timeout = 300ms;
  o.pool_size = 1;  // every call on the same handle and connection
  MemcachedStore store(o);
  const std::string k1 = UniqueKey("stopped-1");
  const std::string k2 = UniqueKey("stopped-2");
  const std::string k3 = UniqueKey("stopped-3");
  REQUIRE(store.CompareAndSwap(k1, std::nullopt, "one", 10min).value());
  REQUIRE(store.CompareAndSwap(k2, std::nullopt, "two", 10min).value());
  const Version v1 = store.Fetch(k1).value()->version;

  PauseAndWait(*server);
  auto timed = [](auto call) {
    const auto start = Clock::now();
    std::error_code error = call();
    CHECK(Clock::now() - start < 3s);
    return error;
  };
  CHECK(timed([&] { return store.Fetch(k1).error(); }) == Errc::kStoreTimeout);
  CHECK(timed([&] { return store.CompareAndSwap(k1, v1, "one+", 10min).error(); }) ==
        Errc::kStoreTimeout);
  CHECK(timed([&] { return store.CompareAndSwap(k3, std::nullopt, "three", 10min).error(); }) ==
        Errc::kStoreTimeout);
  CHECK(timed([&] { return store.Erase(k2).error(); }) == Errc::kStoreTimeout);
  server->Resume();

  // The server now answers the requests it had queued (to connections the
  // store has closed). Each later call gets its own answer.
  for (int i = 0; i < 20; ++i) {
    auto two = store.Fetch(k2);
    REQUIRE(two.ok());
    // The queued delete may or may not have run before the connection closed.
    if (two->has_value()) CHECK((*two)->value == "two");
    auto one = store.Fetch(k1);
    REQUIRE(one.ok());
    REQUIRE(one->has_value());
    CHECK(((*one)->value == "one" || (*one)->value == "one+"));
    const std::string k4 = UniqueKey("after-resume");
    CHECK(store.CompareAndSwap(k4, std::nullopt, "four", 10min).value());
    CHECK_FALSE(store.CompareAndSwap(k4, std::nullopt, "again", 10min).value());
    CHECK(store.Fetch(k4).value()->value == "four");
  }
}

TEST_CASE("a stopped server of a pair fails only its keys") {
  auto a = StartMemcached();
  auto b = StartMemcached();
  MemcachedStoreOptions o = TestOptions({a.get(), b.get()});
  o.io_timeout = 1500ms;
  MemcachedStore store(o);
  const Placement p = WriteKeys(store, *a, *b, 32);

  PauseAndWait(*b);
  for (std::size_t i = 0; i < 3; ++i) {
    auto on_b = store.Fetch(p.on_b[i % p.on_b.size()]);
    REQUIRE_FALSE(on_b.ok());
    CHECK(on_b.error() == Errc::kStoreTimeout);
    // Below io_timeout: a's keys never wait for b.
    const auto start = Clock::now();
    auto on_a = store.Fetch(p.on_a[i % p.on_a.size()]);
    CHECK(Clock::now() - start < o.io_timeout);
    REQUIRE(on_a.ok());
    CHECK(on_a->has_value());
  }
  b->Resume();
  PollUntilClean([&] {
    bool clean = true;
    for (const std::string& key : p.on_b) {
      auto got = store.Fetch(key);
      if (got.ok()) {
        REQUIRE(got->has_value());
        CHECK((*got)->value == key);
      } else {
        CHECK(IsStoreError(got.error()));
        clean = false;
      }
    }
    return clean;
  }, 1, o.retry_timeout + 10s);
}

}  // namespace
}  // namespace jeff::test
