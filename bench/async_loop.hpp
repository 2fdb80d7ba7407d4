#pragma once
// Shared by the AsyncSessions benchmarks (jeff-bench-async-redis,
// jeff-bench-async-memory): Check throughput of event-loop threads, each
// with an io_context and an AsyncSessions of its own, and of plain threads
// calling Sessions::Check, over the same cookies.

#include <jeff/async_sessions.hpp>
#include <jeff/sessions.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace jeff_bench {

using BenchClock = std::chrono::steady_clock;

// Successive cookies of a walk: a prime stride, so that consecutive Checks
// read keys far apart (the caches see every key), the same for every side.
inline std::size_t NextCookie(std::size_t i, std::size_t n) { return (i + 7727) % n; }

// Checks per second of one loop thread keeping `in_flight` Checks going on
// `sessions` (whose loop is `ioc`): each completion starts the next one.
// The first 100 ms (connecting, filling a pipeline) are not counted.
inline double OneLoopRate(boost::asio::io_context& ioc, jeff::AsyncSessions& sessions,
                          const std::vector<std::string>& cookies, std::size_t in_flight,
                          std::chrono::duration<double> length, std::size_t first) {
  bool measuring = false, stopping = false;
  long done = 0, bad = 0;
  std::size_t running = 0, next = first % cookies.size();
  std::function<void()> start_one = [&] {
    ++running;
    next = NextCookie(next, cookies.size());
    sessions.Check(cookies[next], [&](jeff::CheckResult checked) {
      --running;
      if (!checked.ok()) ++bad;
      if (measuring) ++done;
      if (!stopping) start_one();
    });
  };
  for (std::size_t i = 0; i < in_flight; ++i) start_one();
  boost::asio::steady_timer timer(ioc);
  BenchClock::time_point began;
  timer.expires_after(std::chrono::milliseconds(100));
  timer.async_wait([&](const boost::system::error_code&) {
    measuring = true;
    began = BenchClock::now();
    timer.expires_after(std::chrono::duration_cast<BenchClock::duration>(length));
    timer.async_wait([&](const boost::system::error_code&) {
      measuring = false;
      stopping = true;
    });
  });
  BenchClock::time_point ended;
  while (!stopping || running > 0) {
    ioc.run_one();
    if (stopping && ended == BenchClock::time_point{}) ended = BenchClock::now();
  }
  if (bad != 0) throw std::runtime_error("async Check failed");
  return static_cast<double>(done) / std::chrono::duration<double>(ended - began).count();
}

// The summed Checks per second of `loops` loop threads at once, each with
// its own io_context and the AsyncSessions `make(ioc)` returns
// (std::unique_ptr<jeff::AsyncSessions>), each keeping `in_flight` Checks going.
template <typename MakeSessions>
double LoopsRate(int loops, MakeSessions make, const std::vector<std::string>& cookies,
                 std::size_t in_flight, std::chrono::duration<double> length) {
  std::vector<double> rates(static_cast<std::size_t>(loops));
  std::vector<std::exception_ptr> errors(rates.size());
  std::vector<std::thread> threads;
  for (std::size_t l = 0; l < rates.size(); ++l) {
    threads.emplace_back([&, l] {
      try {
        boost::asio::io_context ioc(1);
        std::unique_ptr<jeff::AsyncSessions> sessions = make(ioc);
        rates[l] = OneLoopRate(ioc, *sessions, cookies, in_flight, length, l * 7919);
      } catch (...) {
        errors[l] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  double sum = 0;
  for (double r : rates) sum += r;
  return sum;
}

// Checks per second of `threads` threads each calling Check in a loop.
inline double SyncRate(jeff::Sessions& sessions, const std::vector<std::string>& cookies, int threads,
                       std::chrono::duration<double> length) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, bad{0};
  std::vector<std::thread> pool;
  const auto start = BenchClock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::size_t i = static_cast<std::size_t>(t) * 7919 % cookies.size();
      long mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        i = NextCookie(i, cookies.size());
        if (!sessions.Check(cookies[i]).ok()) bad.fetch_add(1);
        ++mine;
      }
      done.fetch_add(mine);
    });
  }
  std::this_thread::sleep_for(length);
  stop.store(true);
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(BenchClock::now() - start).count();
  if (bad.load() != 0) throw std::runtime_error("sync Check failed");
  return static_cast<double>(done.load()) / seconds;
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace jeff_bench
