// jeff-bench-async-redis: Redis Fetch throughput of AsyncRedisStore on ONE
// event-loop thread (many calls in flight, pipelined on its connections)
// against the synchronous RedisStore on many threads, on the same server
// and the same keys (values of a one-session record's size). bench/run
// compares both with `redis-benchmark -t get -P 16` in the same run.
//
//   jeff-bench-async-redis [seconds per measurement] [calls in flight]
//                          [sync threads] [repetitions]
//
// Reads JEFF_BENCH_REDIS_PORT and JEFF_BENCH_REDIS_VALUE_BYTES; prints one
// JSON object: the median rate of each side over the repetitions.

#include <jeff/stores/redis/async_redis_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kKeys = 10000;

std::size_t EnvNumber(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return static_cast<std::size_t>(std::stoull(v));
}

std::string Key(std::size_t i) { return "asyncbench:" + std::to_string(i % kKeys); }

jeff::RedisStoreOptions Options(std::uint16_t port) {
  jeff::RedisStoreOptions o;
  o.hosts = {{"127.0.0.1", port}};
  return o;
}

void Populate(jeff::RedisStore& store, std::size_t value_bytes) {
  const std::string value(value_bytes, 'v');
  for (std::size_t i = 0; i < kKeys; ++i) {
    auto old = store.Fetch(Key(i)).value();
    std::optional<jeff::Version> expected;
    if (old) expected = old->version;
    if (!store.CompareAndSwap(Key(i), expected, value, std::chrono::hours(1)).value()) {
      throw std::runtime_error("populating " + Key(i) + " lost a race");
    }
  }
}

// Fetches per second of `threads` threads each calling Fetch in a loop.
double SyncRate(jeff::RedisStore& store, int threads, std::chrono::duration<double> length,
                std::size_t value_bytes) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, bad{0};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::size_t i = static_cast<std::size_t>(t) * 7919;
      std::string value;
      long mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto got = store.FetchInto(Key(i++), value);
        if (!got || !*got || value.size() != value_bytes) bad.fetch_add(1);
        ++mine;
      }
      done.fetch_add(mine);
    });
  }
  std::this_thread::sleep_for(length);
  stop.store(true);
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (bad.load() != 0) throw std::runtime_error("sync Fetch failed");
  return static_cast<double>(done.load()) / seconds;
}

// Fetches per second of one loop thread keeping `in_flight` calls going:
// each completion starts the next call.
double AsyncRate(std::uint16_t port, std::size_t in_flight, std::chrono::duration<double> length,
                 std::size_t value_bytes) {
  boost::asio::io_context ioc(1);
  jeff::AsyncRedisStoreOptions o;
  o.redis = Options(port);
  jeff::AsyncRedisStore store(o, ioc.get_executor());
  bool measuring = false, stopping = false;
  long done = 0, bad = 0;
  std::size_t running = 0, next = 0;
  std::function<void()> start_one = [&] {
    ++running;
    store.AsyncFetch(Key(next++), [&](jeff::Result<std::optional<jeff::Versioned>> got) {
      --running;
      if (!got || !*got || (*got)->value.size() != value_bytes) ++bad;
      if (measuring) ++done;
      if (!stopping) start_one();
    });
  };
  for (std::size_t i = 0; i < in_flight; ++i) start_one();
  // Warm up (connect, fill the pipeline), then measure.
  boost::asio::steady_timer timer(ioc);
  Clock::time_point began;
  timer.expires_after(std::chrono::milliseconds(100));
  timer.async_wait([&](const boost::system::error_code&) {
    measuring = true;
    began = Clock::now();
    timer.expires_after(std::chrono::duration_cast<Clock::duration>(length));
    timer.async_wait([&](const boost::system::error_code&) {
      measuring = false;
      stopping = true;
    });
  });
  Clock::time_point ended;
  while (!stopping || running > 0) {
    ioc.run_one();
    if (stopping && ended == Clock::time_point{}) ended = Clock::now();
  }
  if (bad != 0) throw std::runtime_error("async Fetch failed");
  return static_cast<double>(done) / std::chrono::duration<double>(ended - began).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const double seconds = argc > 1 ? std::stod(argv[1]) : 1.0;
    const std::size_t in_flight = argc > 2 ? std::stoul(argv[2]) : 256;
    const int threads = argc > 3 ? std::stoi(argv[3]) : 16;
    const int repetitions = argc > 4 ? std::stoi(argv[4]) : 3;
    const auto port = static_cast<std::uint16_t>(EnvNumber("JEFF_BENCH_REDIS_PORT", 0));
    if (port == 0) throw std::runtime_error("JEFF_BENCH_REDIS_PORT is not set");
    const std::size_t value_bytes = EnvNumber("JEFF_BENCH_REDIS_VALUE_BYTES", 118);
    const std::chrono::duration<double> length(seconds);

    jeff::RedisStore sync(Options(port));
    Populate(sync, value_bytes);
    std::vector<double> async_rates, sync_rates;
    for (int r = 0; r < repetitions; ++r) {  // interleaved: both see the same machine
      async_rates.push_back(AsyncRate(port, in_flight, length, value_bytes));
      sync_rates.push_back(SyncRate(sync, threads, length, value_bytes));
    }
    std::cout << "{\"async_fetch_per_s\":" << Median(async_rates)
              << ",\"sync_fetch_per_s\":" << Median(sync_rates) << ",\"in_flight\":" << in_flight
              << ",\"async_connections\":1,\"sync_threads\":" << threads
              << ",\"value_bytes\":" << value_bytes << ",\"repetitions\":" << repetitions << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench-async-redis: " << e.what() << "\n";
    return 1;
  }
}
