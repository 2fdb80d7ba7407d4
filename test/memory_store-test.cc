#include <doctest/doctest.h>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/key_listing_contract.hpp"
#include "support/store_contract.hpp"

#include <atomic>
#include <latch>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

// The contract with one read lane (every reader on one lock), the default,
// and more lanes than the contract has threads.
void RunMemoryContract(std::size_t lanes) {
  jeff::ManualClock clock;
  jeff::test::StoreHarness h;
  h.make = [&] {
    jeff::MemoryStoreOptions o;
    o.clock = clock.AsClock();
    o.read_lanes = lanes;
    return std::make_shared<jeff::MemoryStore>(o);
  };
  h.advance = [&](std::chrono::milliseconds d) { clock.Advance(d); };
  h.threads = 8;
  h.increments_per_thread = 500;
  jeff::test::RunStoreContract(h);
}

TEST_CASE("memory store passes the store contract") {
  SUBCASE("default read lanes") { RunMemoryContract(0); }
  SUBCASE("one read lane") { RunMemoryContract(1); }
  SUBCASE("16 read lanes") { RunMemoryContract(16); }
}

TEST_CASE("memory store lists its keys by prefix, expired ones left out") {
  jeff::ManualClock clock;
  jeff::MemoryStoreOptions o;
  o.clock = clock.AsClock();
  o.shards = 4;
  jeff::MemoryStore store(o);
  jeff::test::RunKeyListingContract(store, "");
  REQUIRE(store.CompareAndSwap("kl:short", std::nullopt, "v", 1s).value());
  clock.Advance(2s);
  CHECK(store.ListKeys("kl:", 10, [](std::span<const std::string> keys) -> jeff::Result<void> {
    CHECK(keys.empty());
    return {};
  }));
}

// The lanes' locks under contention: writers of one key (each holding all
// lanes) and readers (one lane each) start together and run until the
// writers have collided often (lost compare-and-swaps prove they overlapped;
// up to 15 s on a loaded machine), so that lock and unlock also take their
// contended paths (waiters sleep and are woken). No increment may be lost,
// and no read may see a value while it is being rewritten.
TEST_CASE("memory store's locks exclude writers from each other and from readers") {
  jeff::MemoryStoreOptions o;
  o.shards = 1;
  o.read_lanes = 2;
  jeff::MemoryStore store(o);
  constexpr int kWriters = 3, kReaders = 3, kCollisions = 200;
  REQUIRE(store.CompareAndSwap("n", std::nullopt, "0", 1h).value());
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  std::latch start(kWriters + kReaders);
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> increments{0}, collisions{0}, torn{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      while (collisions.load() < kCollisions && std::chrono::steady_clock::now() < deadline) {
        auto read = store.Fetch("n");
        if (!read.ok() || !read->has_value()) {
          ++failed;
          break;
        }
        // `<c repeated>:<count>`, c the count's last digit, repeated
        // 64 + count % 200 times: a torn read mixes two lengths or digits.
        const std::string& v = (*read)->value;
        const int count = std::stoi(v.substr(v.find(':') + 1));  // "0" at first: no ':'
        const std::string digits = std::to_string(count + 1);
        const std::string next = std::string(64 + (count + 1) % 200, digits.back()) + ":" + digits;
        auto wrote = store.CompareAndSwap("n", (*read)->version, next, 1h);
        if (!wrote.ok()) {
          ++failed;
          break;
        }
        ++(*wrote ? increments : collisions);
      }
      --writers_left;
    });
  }
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      std::string value;
      while (writers_left.load() > 0) {
        auto version = store.FetchInto("n", value);
        if (!version.ok() || !version->has_value()) {
          ++failed;
          break;
        }
        const std::size_t colon = value.find(':');
        if (colon == std::string::npos) continue;  // the initial "0"
        const std::string count = value.substr(colon + 1);
        const bool whole = colon == 64 + static_cast<std::size_t>(std::stoi(count)) % 200 &&
                           value.find_first_not_of(count.back()) == colon;
        if (!whole) ++torn;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed.load() == 0);
  CHECK(torn.load() == 0);
  CHECK(collisions.load() >= kCollisions);  // else the writers never overlapped
  auto last = store.Fetch("n").value();
  REQUIRE(last.has_value());
  CHECK(last->value.substr(last->value.find(':') + 1) == std::to_string(increments.load()));
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

// The store's hash table (open addressing, backward-shift deletion, sweeps
// that shrink it) against a std::map model, through growth from empty to
// thousands of keys, in-place and reallocating updates, erasure and expiry.
TEST_CASE("memory store behaves like a map under random operations") {
  for (std::size_t shards : {1, 4}) {
    CAPTURE(shards);
    jeff::ManualClock clock;
    jeff::MemoryStoreOptions o;
    o.clock = clock.AsClock();
    o.shards = shards;
    o.sweep_interval = 50ms;
    jeff::MemoryStore store(o);
    struct Model {
      std::string value;
      jeff::Version version;
      jeff::TimePoint expires;
    };
    std::map<std::string, Model> model;
    std::mt19937_64 rng(20301123 + shards);
    std::string buffer;
    std::size_t hits = 0, updates = 0, erases = 0;
    for (int i = 0; i < 60000; ++i) {
      // Few keys at first, then many: the tables grow, then sweeps and
      // erasures shrink them again.
      const std::size_t pool = i < 20000 ? 64 : (i < 40000 ? 4000 : 300);
      const std::string key = "key:" + std::to_string(rng() % pool);
      auto it = model.find(key);
      if (it != model.end() && it->second.expires <= clock.Now()) {
        model.erase(it);
        it = model.end();
      }
      switch (rng() % 8) {
        case 0:
        case 1:
        case 2: {  // write: right version, wrong version or "absent"
          const std::string value(rng() % 300, static_cast<char>('a' + rng() % 26));
          const auto ttl = std::chrono::milliseconds(1 + rng() % 400);
          std::optional<jeff::Version> expected;
          const int how = static_cast<int>(rng() % 3);
          if (how == 1 && it != model.end()) expected = it->second.version;
          if (how == 2) expected = rng();
          const bool should = expected.has_value() ? (it != model.end() && it->second.version == *expected)
                                                   : it == model.end();
          const auto wrote = store.CompareAndSwap(key, expected, value, ttl);
          REQUIRE(wrote.ok());
          REQUIRE(*wrote == should);
          if (should) {
            const auto version = store.Fetch(key).value().value().version;
            model[key] = Model{value, version, clock.Now() + ttl};
            ++updates;
          }
          break;
        }
        case 3: {
          REQUIRE(store.Erase(key).ok());
          if (it != model.end()) {
            model.erase(it);
            ++erases;
          }
          break;
        }
        case 4:
          clock.Advance(std::chrono::milliseconds(rng() % 20));
          break;
        default: {
          const auto got = store.FetchInto(key, buffer);
          REQUIRE(got.ok());
          REQUIRE(got->has_value() == (it != model.end()));
          if (it != model.end()) {
            REQUIRE(buffer == it->second.value);
            REQUIRE(**got == it->second.version);
            ++hits;
          }
        }
      }
    }
    // Every live model key is still there; expired ones do not count.
    for (const auto& [key, m] : model) {
      if (m.expires <= clock.Now()) continue;
      const auto got = store.Fetch(key).value();
      REQUIRE(got.has_value());
      CHECK(got->value == m.value);
    }
    CHECK(store.size() <= 300);  // the last phase writes 300 keys; sweeps took the rest
    CHECK(hits > 2000);
    CHECK(updates > 5000);
    CHECK(erases > 1000);
  }
}
