#pragma once
// Internal to the store libraries (never installed): a bounded, thread-safe
// pool of connections to one server, with bounded exponential back-off
// between failed connection attempts. Generic over the connection type, which
// provides:
//   bool broken() const;                        // unusable after a failure
//   bool IdleAndOpen() const;                   // cheap liveness check
//   std::chrono::steady_clock::time_point last_used() const;

#include <jeff/result.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace jeff::store_detail {

/// Sizing and reconnect policy of a ConnectionPool.
struct PoolOptions {
  std::size_t size = 16;                           ///< 0: unbounded
  std::chrono::milliseconds wait_timeout{1000};    ///< 0: fail at once when all are in use
  std::chrono::milliseconds backoff_min{50};       ///< 0: no back-off
  std::chrono::milliseconds backoff_max{2000};
  /// Idle connections used longer ago than this are checked before use.
  std::chrono::milliseconds idle_check_after{1000};
};

template <class Connection>
class ConnectionPool;

/// A connection on loan from a pool. Returned to the pool on destruction,
/// unless it is broken (then it is closed and its slot freed).
template <class Connection>
class Lease {
 public:
  Lease(ConnectionPool<Connection>* pool, std::unique_ptr<Connection> connection) noexcept
      : pool_(pool), connection_(std::move(connection)) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_) pool_->Release(std::move(connection_));
  }
  Connection& operator*() const noexcept { return *connection_; }
  Connection* operator->() const noexcept { return connection_.get(); }

 private:
  ConnectionPool<Connection>* pool_;
  std::unique_ptr<Connection> connection_;
};

/// Connections to one server, opened by `open`. Thread-safe; must outlive
/// its leases.
template <class Connection>
class ConnectionPool {
 public:
  using Clock = std::chrono::steady_clock;
  /// Opens one connection (bounded by its own timeout).
  using Opener = std::function<Result<std::unique_ptr<Connection>>()>;

  ConnectionPool(Opener open, PoolOptions options)
      : open_connection_(std::move(open)), options_(options) {
    idle_.reserve(options_.size);
  }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// An idle connection that is still open, or a new one when fewer than
  /// `size` exist, or one released by another thread within `wait_timeout`
  /// (else kStoreTimeout). While backing off after a failed connect, fails at
  /// once with that failure's code and reason (NoteError) instead of
  /// connecting again.
  Result<Lease<Connection>> Acquire() {
    const auto deadline = Clock::now() + options_.wait_timeout;
    std::unique_lock lock(mu_);
    for (;;) {
      while (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
        const bool recent = Clock::now() - connection->last_used() < options_.idle_check_after;
        if (recent || connection->IdleAndOpen()) return Lease<Connection>(this, std::move(connection));
        connection.reset();  // the server went away since this one was last used
        lock.lock();
        --open_;
      }
      if (options_.size == 0 || open_ < options_.size) return Connect(lock);
      const bool available = released_.wait_until(
          lock, deadline, [this] { return !idle_.empty() || open_ < options_.size; });
      if (!available) return Errc::kStoreTimeout;
    }
  }

 private:
  friend class Lease<Connection>;

  Result<Lease<Connection>> Connect(std::unique_lock<std::mutex>& lock) {
    const auto now = Clock::now();
    if (backoff_.count() > 0) {
      if (now < retry_at_) return NoteError(last_error_, last_detail_);
      // This attempt probes the server; the others fail fast until it is done.
      retry_at_ = now + backoff_;
    }
    ++open_;
    lock.unlock();
    auto opened = open_connection_();
    lock.lock();
    if (opened) {
      backoff_ = std::chrono::milliseconds(0);
      lock.unlock();
      return Lease<Connection>(this, std::move(*opened));
    }
    --open_;
    last_error_ = opened.error();
    last_detail_ = ErrorDetail(last_error_);  // repeated by the calls that fail fast
    if (options_.backoff_min.count() > 0) {
      backoff_ = backoff_.count() == 0 ? options_.backoff_min
                                       : std::min(backoff_ * 2, options_.backoff_max);
      retry_at_ = Clock::now() + backoff_;
    }
    lock.unlock();
    released_.notify_one();  // the slot is free again for a waiter
    return opened.error();
  }

  void Release(std::unique_ptr<Connection> connection) noexcept {
    if (connection->broken()) {
      // Never reuse it: a late reply to its last command may still arrive.
      connection.reset();
      std::lock_guard lock(mu_);
      --open_;
    } else {
      std::lock_guard lock(mu_);
      idle_.push_back(std::move(connection));
    }
    released_.notify_one();
  }

  const Opener open_connection_;
  const PoolOptions options_;
  std::mutex mu_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Connection>> idle_;  // most recently used last
  std::size_t open_ = 0;                           // idle + leased + being connected
  Clock::time_point retry_at_{};                   // no connect attempt before this
  std::chrono::milliseconds backoff_{0};           // 0: the last connect succeeded
  std::error_code last_error_;
  std::string last_detail_;  // its reason (ErrorDetail), if the opener noted one
};

}  // namespace jeff::store_detail
