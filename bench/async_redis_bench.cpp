// jeff-bench-async-redis: Redis Check throughput of AsyncSessions on
// AsyncRedisStore on ONE event-loop thread (many Checks in flight, pipelined
// on its connection) against Sessions on the synchronous RedisStore on many
// threads, on the same server and the same sessions (one per key). bench/run
// compares both with `redis-benchmark -t get -P 16` in the same run.
//
//   jeff-bench-async-redis [seconds per measurement] [checks in flight]
//                          [sync threads] [repetitions]
//
// Reads JEFF_BENCH_REDIS_PORT; prints one JSON object: the median rate of
// each side over the repetitions. With JEFF_BENCH_REDIS_TLS_PORT and
// JEFF_BENCH_REDIS_TLS_CA (the same server's TLS port and its CA), the async
// Check is also measured over TLS, interleaved with the rest.

#include <jeff/async_sessions.hpp>
#include <jeff/sessions.hpp>
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

// `tls_ca`: the CA file of a TLS port; empty: plain TCP.
jeff::RedisStoreOptions StoreOptions(std::uint16_t port, const std::string& tls_ca = {}) {
  jeff::RedisStoreOptions o;
  o.hosts = {{"127.0.0.1", port}};
  if (!tls_ca.empty()) {
    o.tls.enabled = true;
    o.tls.ca_file = tls_ca;
  }
  return o;
}

// The same settings for both managers (the sync one gets its store here).
jeff::Options SessionOptions() {
  jeff::Options o;
  o.key_prefix = "asyncbench:";
  return o;
}

// One session for each of kKeys users; returns their Cookie headers.
std::vector<std::string> LogIn(jeff::Sessions& sessions) {
  std::vector<std::string> cookies;
  for (std::size_t i = 0; i < kKeys; ++i) {
    auto issued = sessions.Set("user" + std::to_string(i) + "@example.com", "bench device");
    if (!issued) throw std::runtime_error("Set failed: " + issued.error().message());
    const std::string& set_cookie = issued->set_cookie.front();
    cookies.push_back(set_cookie.substr(0, set_cookie.find(';')));
  }
  return cookies;
}

// Checks per second of `threads` threads each calling Check in a loop.
double SyncRate(jeff::Sessions& sessions, const std::vector<std::string>& cookies, int threads,
                std::chrono::duration<double> length) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, bad{0};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::size_t i = static_cast<std::size_t>(t) * 7919;
      long mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!sessions.Check(cookies[i++ % cookies.size()]).ok()) bad.fetch_add(1);
        ++mine;
      }
      done.fetch_add(mine);
    });
  }
  std::this_thread::sleep_for(length);
  stop.store(true);
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (bad.load() != 0) throw std::runtime_error("sync Check failed");
  return static_cast<double>(done.load()) / seconds;
}

// Checks per second of one loop thread keeping `in_flight` Checks going:
// each completion starts the next one.
double AsyncRate(const jeff::RedisStoreOptions& store, const std::vector<std::string>& cookies,
                 std::size_t in_flight, std::chrono::duration<double> length) {
  boost::asio::io_context ioc(1);
  jeff::AsyncRedisStoreOptions o;
  o.redis = store;
  jeff::AsyncSessions sessions(SessionOptions(), std::make_shared<jeff::AsyncRedisStore>(o, ioc.get_executor()),
                               ioc.get_executor());
  bool measuring = false, stopping = false;
  long done = 0, bad = 0;
  std::size_t running = 0, next = 0;
  std::function<void()> start_one = [&] {
    ++running;
    sessions.Check(cookies[next++ % cookies.size()], [&](jeff::CheckResult checked) {
      --running;
      if (!checked.ok()) ++bad;
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
  if (bad != 0) throw std::runtime_error("async Check failed");
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
    const std::chrono::duration<double> length(seconds);
    const auto tls_port = static_cast<std::uint16_t>(EnvNumber("JEFF_BENCH_REDIS_TLS_PORT", 0));
    const char* tls_ca = std::getenv("JEFF_BENCH_REDIS_TLS_CA");
    const bool tls = tls_port != 0 && tls_ca != nullptr && *tls_ca != '\0';

    jeff::Options sync_options = SessionOptions();
    sync_options.store = std::make_shared<jeff::RedisStore>(StoreOptions(port));
    jeff::Sessions sync(sync_options);
    const std::vector<std::string> cookies = LogIn(sync);
    std::vector<double> async_rates, sync_rates, async_tls_rates;
    for (int r = 0; r < repetitions; ++r) {  // interleaved: all see the same machine
      async_rates.push_back(AsyncRate(StoreOptions(port), cookies, in_flight, length));
      if (tls) async_tls_rates.push_back(AsyncRate(StoreOptions(tls_port, tls_ca), cookies, in_flight, length));
      sync_rates.push_back(SyncRate(sync, cookies, threads, length));
    }
    std::cout << "{\"async_check_per_s\":" << Median(async_rates);
    if (tls) std::cout << ",\"async_tls_check_per_s\":" << Median(async_tls_rates);
    std::cout << ",\"sync_check_per_s\":" << Median(sync_rates) << ",\"in_flight\":" << in_flight
              << ",\"async_connections\":1,\"sync_threads\":" << threads
              << ",\"repetitions\":" << repetitions << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench-async-redis: " << e.what() << "\n";
    return 1;
  }
}
