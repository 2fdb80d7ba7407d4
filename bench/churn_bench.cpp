// jeff-bench-churn: does the memory store stay flat under steady churn?
// Logins (Set), Checks, revocations (Delete) and expiries (the injected
// clock moves one simulated second per batch) at a steady rate on one
// thread, for a given wall time; the resident set size is sampled every few
// seconds and its least-squares slope printed, with Check latency
// percentiles per third of the run and the store's size at the end against
// its bound.
//
//   jeff-bench-churn [seconds] [keys]
//
// Each batch, every 10 ms of wall time: 100 logins on keys walked over
// `keys` (default 10,000), 1,000 Checks of cookies among the last 32,768
// issued (some revoked, evicted or expired since), 10 revocations of a key
// (walked apart from the logins), then the clock moves 1 s. Sessions live
// 300 simulated seconds (so about 30,000 are live), at most 4 per key.
// Before the measured run, 3 lifetimes of batches (unpaced) fill the
// store to its steady state. Prints one JSON object.

#include "fixtures.hpp"

#include <jeff/clock.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>


#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kLoginsPerBatch = 100;
constexpr std::size_t kChecksPerBatch = 1000;
constexpr std::size_t kRevocationsPerBatch = 10;
constexpr std::size_t kRecentCookies = 32768;
constexpr std::size_t kMaxSessionsPerKey = 4;
constexpr auto kBatchWall = std::chrono::milliseconds(10);
constexpr auto kBatchSimulated = std::chrono::seconds(1);
constexpr auto kLifetime = std::chrono::seconds(300);
constexpr auto kSampleEvery = std::chrono::seconds(2);

// Check latencies in fixed buckets (allocated once, so that recording them
// does not grow the RSS being measured): 10 ns wide below 100 us, 10 us
// wide up to 100 ms, then one overflow bucket.
class Histogram {
 public:
  void Add(std::int64_t ns) {
    const std::size_t i = ns < 100000 ? static_cast<std::size_t>(ns / 10)
                                      : std::min<std::size_t>(10000 + static_cast<std::size_t>(ns / 10000), kBuckets - 1);
    ++counts_[i];
    ++total_;
  }
  // The lower bound (ns) of the bucket holding quantile q.
  std::int64_t Quantile(double q) const {
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return i < 10000 ? static_cast<std::int64_t>(i) * 10 : static_cast<std::int64_t>(i - 10000) * 10000;
    }
    return -1;
  }
  std::uint64_t total() const { return total_; }

 private:
  static constexpr std::size_t kBuckets = 20001;
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
};

// Least-squares slope of y over x.
double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

struct Churn {
  explicit Churn(std::size_t keys) : keys(keys), walk(keys, 1), revoke_walk(keys, 2), cookies(kRecentCookies) {
    jeff::MemoryStoreOptions store_options;
    store_options.clock = clock.AsClock();
    store = std::make_shared<jeff::MemoryStore>(store_options);
    jeff::Options options;
    options.store = store;
    options.clock = clock.AsClock();
    options.max_age = kLifetime;
    options.max_sessions_per_key = kMaxSessionsPerKey;
    sessions = std::make_unique<jeff::Sessions>(options);
  }

  static std::string Key(std::size_t i) { return "user" + std::to_string(i) + "@example.com"; }

  // One batch; Check latencies go to `latency` when given.
  void Batch(Histogram* latency) {
    for (std::size_t i = 0; i < kLoginsPerBatch; ++i) {
      auto issued = sessions->Set(Key(walk.Next()));
      if (!issued) throw std::runtime_error("Set: " + issued.error().message());
      cookies[issued_count++ % kRecentCookies] = jeff_bench::CookieHeaderFor(issued->set_cookie.front());
    }
    const std::size_t known = std::min(issued_count, kRecentCookies);
    for (std::size_t i = 0; i < kChecksPerBatch; ++i) {
      const std::string& cookie = cookies[(check_cursor += 7919) % known];
      const auto start = std::chrono::steady_clock::now();
      const jeff::CheckResult r = sessions->Check(cookie);
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
      if (latency) latency->Add(ns.count());
      if (r.status == jeff::CheckStatus::kStoreError) throw std::runtime_error("Check: store error");
      ++(r.ok() ? checks_ok : checks_not_ok);
    }
    for (std::size_t i = 0; i < kRevocationsPerBatch; ++i) {
      if (auto revoked = sessions->Delete(Key(revoke_walk.Next())); !revoked) {
        throw std::runtime_error("Delete: " + revoked.error().message());
      }
    }
    clock.Advance(kBatchSimulated);
  }

  std::size_t keys;
  jeff::ManualClock clock;
  std::shared_ptr<jeff::MemoryStore> store;
  std::unique_ptr<jeff::Sessions> sessions;
  jeff_bench::IndexWalk walk;
  jeff_bench::IndexWalk revoke_walk;
  std::vector<std::string> cookies;
  std::size_t issued_count = 0;
  std::size_t check_cursor = 0;
  std::uint64_t checks_ok = 0;
  std::uint64_t checks_not_ok = 0;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const double seconds = argc > 1 ? std::stod(argv[1]) : 600;
    const std::size_t keys = argc > 2 ? std::stoul(argv[2]) : 10000;
    Churn churn(keys);
    const std::size_t warm_batches = 3 * static_cast<std::size_t>(kLifetime / kBatchSimulated);
    for (std::size_t b = 0; b < warm_batches; ++b) churn.Batch(nullptr);

    auto phases = std::make_unique<std::array<Histogram, 3>>();
    std::vector<double> minutes, rss;
    const std::size_t samples = static_cast<std::size_t>(seconds / 2) + 2;
    minutes.reserve(samples);
    rss.reserve(samples);
    const auto length = std::chrono::duration<double>(seconds);
    const auto start = std::chrono::steady_clock::now();
    auto next_batch = start;
    auto next_sample = start;
    std::size_t batches = 0;
    for (auto now = start; now - start < length; now = std::chrono::steady_clock::now()) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      if (now >= next_sample) {
        minutes.push_back(elapsed / 60);
        rss.push_back(static_cast<double>(jeff_bench::ResidentBytes()));
        next_sample += kSampleEvery;
      }
      const auto phase = std::min<std::size_t>(2, static_cast<std::size_t>(3 * elapsed / seconds));
      churn.Batch(&(*phases)[phase]);
      ++batches;
      next_batch += kBatchWall;
      std::this_thread::sleep_until(next_batch);
    }
    minutes.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60);
    rss.push_back(static_cast<double>(jeff_bench::ResidentBytes()));

    std::size_t live = 0;
    for (std::size_t k = 0; k < keys; ++k) {
      auto list = churn.sessions->SessionsForKey(Churn::Key(k));
      if (!list) throw std::runtime_error("SessionsForKey: " + list.error().message());
      live += list->size();
    }
    std::cout << "{\"seconds\":" << seconds << ",\"keys\":" << keys << ",\"batches\":" << batches
              << ",\"logins\":" << churn.issued_count << ",\"rss_samples\":" << rss.size()
              << ",\"rss_first_bytes\":" << static_cast<std::int64_t>(rss.front())
              << ",\"rss_last_bytes\":" << static_cast<std::int64_t>(rss.back())
              << ",\"rss_slope_bytes_per_min\":" << Slope(minutes, rss) << ",\"live_sessions\":" << live
              << ",\"sessions_bound\":" << keys * kMaxSessionsPerKey << ",\"store_entries\":" << churn.store->size()
              << ",\"store_entries_bound\":" << keys << ",\"checks_ok\":" << churn.checks_ok
              << ",\"checks_not_ok\":" << churn.checks_not_ok << ",\"check_ns\":[";
    for (std::size_t p = 0; p < 3; ++p) {
      const Histogram& h = (*phases)[p];
      std::cout << (p ? "," : "") << "{\"checks\":" << h.total() << ",\"p50\":" << h.Quantile(0.5)
                << ",\"p99\":" << h.Quantile(0.99) << ",\"p999\":" << h.Quantile(0.999) << "}";
    }
    std::cout << "]}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench-churn: " << e.what() << "\n";
    return 1;
  }
}
