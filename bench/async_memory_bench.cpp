// jeff-bench-async-memory: Check throughput of AsyncSessions on one
// MemoryStore, on ONE event-loop thread and on TWO (an io_context and an
// AsyncSessions each, the store shared), against Sessions on one thread
// over the same store and cookies (kKeys keys, one session each).
//
//   jeff-bench-async-memory [seconds per measurement] [checks in flight per loop]
//                           [repetitions]
//
// Prints one JSON object: the median rate of each side over the
// repetitions, which run interleaved (1 loop, 2 loops, sync, again).

#include "async_loop.hpp"

#include <jeff/async_sessions.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kKeys = 10000;

jeff::Options SessionOptions() {
  jeff::Options o;
  // As jeff-bench's MemoryCheck: no touch write during a run.
  o.touch_interval = std::chrono::hours(1);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const double seconds = argc > 1 ? std::stod(argv[1]) : 1.0;
    const std::size_t in_flight = argc > 2 ? std::stoul(argv[2]) : 16;
    const int repetitions = argc > 3 ? std::stoi(argv[3]) : 3;
    const std::chrono::duration<double> length(seconds);

    auto store = std::make_shared<jeff::MemoryStore>();
    jeff::Options sync_options = SessionOptions();
    sync_options.store = store;
    jeff::Sessions sync(sync_options);
    std::vector<std::string> cookies;
    for (std::size_t i = 0; i < kKeys; ++i) {
      auto issued = sync.Set("user" + std::to_string(i) + "@example.com");
      if (!issued) throw std::runtime_error("Set failed: " + issued.error().message());
      const std::string& set_cookie = issued->set_cookie.front();
      cookies.push_back(set_cookie.substr(0, set_cookie.find(';')));
    }
    const auto on_loop = [&](boost::asio::io_context& ioc) {
      return std::make_unique<jeff::AsyncSessions>(SessionOptions(), store, ioc.get_executor());
    };
    std::vector<double> one, two, plain;
    for (int r = 0; r < repetitions; ++r) {
      one.push_back(jeff_bench::LoopsRate(1, on_loop, cookies, in_flight, length));
      two.push_back(jeff_bench::LoopsRate(2, on_loop, cookies, in_flight, length));
      plain.push_back(jeff_bench::SyncRate(sync, cookies, 1, length));
    }
    std::cout << "{\"async_check_1l_per_s\":" << jeff_bench::Median(one)
              << ",\"async_check_2l_per_s\":" << jeff_bench::Median(two)
              << ",\"sync_check_1t_per_s\":" << jeff_bench::Median(plain) << ",\"in_flight\":" << in_flight
              << ",\"repetitions\":" << repetitions << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench-async-memory: " << e.what() << "\n";
    return 1;
  }
}
