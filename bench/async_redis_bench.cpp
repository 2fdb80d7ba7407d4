// jeff-bench-async-redis: Redis Check throughput of AsyncSessions on
// AsyncRedisStore on ONE event-loop thread (many Checks in flight, pipelined
// on its connection) against Sessions on the synchronous RedisStore on many
// threads, on the same server and the same sessions (one per key), and on
// TWO loop threads (a connection each). bench/run compares them with
// `redis-benchmark -t get -P 16` in the same run.
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

#include "async_loop.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using jeff_bench::LoopsRate;
using jeff_bench::Median;
using jeff_bench::SyncRate;
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

// One AsyncSessions on AsyncRedisStore (one connection) on `ioc`.
std::unique_ptr<jeff::AsyncSessions> AsyncOn(boost::asio::io_context& ioc, const jeff::RedisStoreOptions& store) {
  jeff::AsyncRedisStoreOptions o;
  o.redis = store;
  return std::make_unique<jeff::AsyncSessions>(
      SessionOptions(), std::make_shared<jeff::AsyncRedisStore>(o, ioc.get_executor()), ioc.get_executor());
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
    const auto tcp = [&](boost::asio::io_context& ioc) { return AsyncOn(ioc, StoreOptions(port)); };
    const auto over_tls = [&](boost::asio::io_context& ioc) { return AsyncOn(ioc, StoreOptions(tls_port, tls_ca)); };
    // JEFF_BENCH_ASYNC_ONLY=tcp or tls: only the one-loop async Check over
    // it (for profiling one path, e.g. under strace -c).
    const char* only_env = std::getenv("JEFF_BENCH_ASYNC_ONLY");
    const std::string only = only_env != nullptr ? only_env : "";
    std::vector<double> async_rates, async_2l_rates, sync_rates, async_tls_rates;
    for (int r = 0; r < repetitions; ++r) {  // interleaved: all see the same machine
      if (only.empty() || only == "tcp") async_rates.push_back(LoopsRate(1, tcp, cookies, in_flight, length));
      // Two loop threads, each with its connection and `in_flight` Checks.
      if (only.empty()) async_2l_rates.push_back(LoopsRate(2, tcp, cookies, in_flight, length));
      if (tls && (only.empty() || only == "tls")) {
        async_tls_rates.push_back(LoopsRate(1, over_tls, cookies, in_flight, length));
      }
      if (only.empty()) sync_rates.push_back(SyncRate(sync, cookies, threads, length));
    }
    const auto field = [](const char* name, const std::vector<double>& rates) {
      if (!rates.empty()) std::cout << "\"" << name << "\":" << Median(rates) << ",";
    };
    std::cout << "{";
    field("async_check_per_s", async_rates);
    field("async_check_2l_per_s", async_2l_rates);
    field("async_tls_check_per_s", async_tls_rates);
    field("sync_check_per_s", sync_rates);
    std::cout << "\"in_flight\":" << in_flight << ",\"async_connections\":1,\"sync_threads\":" << threads
              << ",\"repetitions\":" << repetitions << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench-async-redis: " << e.what() << "\n";
    return 1;
  }
}
