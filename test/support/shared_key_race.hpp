#pragma once
// The shared-key race workload (support/shared_key_oracle.hpp) run by both
// drivers: Sessions on threads, AsyncSessions as coroutines on one event
// loop thread. Each runs until Stop, which then checks every tracked
// session once more. Requests are paced: the machine is shared, and the
// counts need time, not volume.

#include "support/blocking_async.hpp"
#include "support/shared_key_oracle.hpp"

#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>
#include <jeff/sessions.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace jeff::test {

/// Options for the race: `evicting` keeps SharedKeyOracle::kMaxPerKey
/// sessions per key, else no limit; Check touches a session at most once a
/// second (so Checks write too); CAS contention must never exhaust the
/// attempts (that would be an unexpected answer, not a store error).
inline Options SharedKeyRaceOptions(std::shared_ptr<Store> store, const std::string& prefix, bool evicting) {
  Options o;
  o.store = std::move(store);
  o.key_prefix = prefix;
  o.max_sessions_per_key = evicting ? SharedKeyOracle::kMaxPerKey : 0;
  o.touch_interval = std::chrono::seconds(1);
  o.cas_attempts = 10000;
  o.cas_backoff = std::chrono::milliseconds(2);
  return o;
}

/// Sessions on `threads` threads.
class SyncSharedKeyRace {
 public:
  SyncSharedKeyRace(SharedKeyOracle& oracle, std::shared_ptr<Store> store, const std::string& prefix,
                    int threads, std::chrono::microseconds pace)
      : oracle_(oracle), evicting_(SharedKeyRaceOptions(store, prefix, true)),
        unlimited_(SharedKeyRaceOptions(store, prefix, false)) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, t, pace] {
        std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
        while (!stop_) {
          RaceOp op = oracle_.Next(rng);
          Sessions& s = op.evicting ? evicting_ : unlimited_;
          switch (op.kind) {
            case RaceOp::kSet: oracle_.Done(op, s.Set(op.name, "device")); break;
            case RaceOp::kDeleteOne:
              oracle_.Done(op, s.Delete(op.name, std::span<const SessionId>(&op.id, 1)));
              break;
            case RaceOp::kDeleteAll: oracle_.Done(op, s.Delete(op.name)); break;
            default: oracle_.Done(op, s.Check(op.cookie)); break;
          }
          std::this_thread::sleep_for(pace);
        }
      });
    }
  }
  /// Stops and joins the threads (no final sweep: a test that failed early).
  ~SyncSharedKeyRace() { Join(); }

  /// Stops and joins the threads, then the final sweep.
  void Stop() {
    if (workers_.empty()) return;
    Join();
    oracle_.FinalSweep([this](const std::string& cookie) { return unlimited_.Check(cookie); });
  }

 private:
  void Join() {
    stop_ = true;
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  SharedKeyOracle& oracle_;
  Sessions evicting_;
  Sessions unlimited_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

/// AsyncSessions as `coroutines` coroutines on one io_context, run by a
/// thread of its own; `make_store` makes the store on that loop.
class AsyncSharedKeyRace {
 public:
  AsyncSharedKeyRace(SharedKeyOracle& oracle,
                     const std::function<std::shared_ptr<AsyncStore>(boost::asio::io_context&)>& make_store,
                     const std::string& prefix, int coroutines, std::chrono::microseconds pace)
      : oracle_(oracle), store_(make_store(ioc_)),
        evicting_(SharedKeyRaceOptions(nullptr, prefix, true), store_, ioc_.get_executor()),
        unlimited_(SharedKeyRaceOptions(nullptr, prefix, false), store_, ioc_.get_executor()),
        running_(coroutines) {
    for (int c = 0; c < coroutines; ++c) {
      boost::asio::co_spawn(ioc_, Work(c, pace), [this](std::exception_ptr e) {
        if (e && !failure_) failure_ = e;
        --running_;
      });
    }
    loop_ = std::thread([this] {
      // Until the coroutines finished: the store's connections keep reads
      // pending, so the loop never runs dry.
      while (running_ > 0) ioc_.run_one_for(std::chrono::milliseconds(50));
    });
  }
  /// Stops the coroutines and joins the loop thread (no final sweep).
  ~AsyncSharedKeyRace() { Join(); }

  /// Stops the coroutines and joins the loop thread, rethrows what a
  /// coroutine threw, then the final sweep (on this thread, through the
  /// same loop).
  void Stop() {
    if (!loop_.joinable()) return;
    Join();
    if (failure_) std::rethrow_exception(failure_);
    BlockingAsync api(unlimited_, ioc_);
    oracle_.FinalSweep([&api](const std::string& cookie) { return api.Check(cookie); });
  }

 private:
  void Join() {
    stop_ = true;
    if (loop_.joinable()) loop_.join();
  }

  boost::asio::awaitable<void> Work(int c, std::chrono::microseconds pace) {
    using boost::asio::use_awaitable;
    std::mt19937 rng(static_cast<unsigned>(c) * 104729u + 7u);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    while (!stop_) {
      RaceOp op = oracle_.Next(rng);
      AsyncSessions& s = op.evicting ? evicting_ : unlimited_;
      switch (op.kind) {
        case RaceOp::kSet: oracle_.Done(op, co_await s.Set(op.name, "device", use_awaitable)); break;
        case RaceOp::kDeleteOne:
          oracle_.Done(op, co_await s.Delete(op.name, std::span<const SessionId>(&op.id, 1), use_awaitable));
          break;
        case RaceOp::kDeleteAll: oracle_.Done(op, co_await s.Delete(op.name, use_awaitable)); break;
        default: oracle_.Done(op, co_await s.Check(op.cookie, use_awaitable)); break;
      }
      timer.expires_after(pace);
      co_await timer.async_wait(use_awaitable);
    }
  }

  SharedKeyOracle& oracle_;
  boost::asio::io_context ioc_;
  std::shared_ptr<AsyncStore> store_;
  AsyncSessions evicting_;
  AsyncSessions unlimited_;
  std::atomic<bool> stop_{false};
  std::atomic<int> running_;
  std::exception_ptr failure_;
  std::thread loop_;
};

/// Prints the counts of one driver's run (doctest MESSAGE).
inline void PrintRaceCounts(const std::string& scenario, const SharedKeyOracle& o) {
  MESSAGE(scenario << ": requests=" << o.requests.load() << " store_errors=" << o.store_errors.load()
                   << " store_errors_untargeted=" << o.store_errors_untargeted.load()
                   << " wrong_grants=" << o.wrong_grants.load() << " revoked_back=" << o.revoked_back.load()
                   << " lost=" << o.lost.load() << " lost_untargeted=" << o.lost_untargeted.load()
                   << " evicted=" << o.evicted.load() << " unexpected=" << o.unexpected.load()
                   << " acked_sets=" << o.acked_sets.load() << " acked_revokes=" << o.acked_revokes.load()
                   << " recovery_ms=" << o.RecoveryMs());
}

}  // namespace jeff::test
