#pragma once
// Internal to jeff-redis (never installed): a bounded, thread-safe pool of
// connections to one server, with bounded exponential back-off between
// failed connection attempts.

#include "connection.hpp"

#include <jeff/result.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

namespace jeff::redis_detail {

/// Sizing and reconnect policy of a ConnectionPool.
struct PoolOptions {
  ConnectOptions connect;
  std::size_t size = 16;                           ///< 0: unbounded
  std::chrono::milliseconds wait_timeout{1000};    ///< 0: fail at once when all are in use
  std::chrono::milliseconds backoff_min{50};       ///< 0: no back-off
  std::chrono::milliseconds backoff_max{2000};
  /// Idle connections used longer ago than this are checked before use.
  std::chrono::milliseconds idle_check_after{1000};
};

class ConnectionPool;

/// A connection on loan from a pool. Returned to the pool on destruction,
/// unless it is broken (then it is closed and its slot freed).
class Lease {
 public:
  Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection) noexcept
      : pool_(pool), connection_(std::move(connection)) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Connection& operator*() const noexcept { return *connection_; }
  Connection* operator->() const noexcept { return connection_.get(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> connection_;
};

/// Connections to one endpoint. Thread-safe; must outlive its leases.
class ConnectionPool {
 public:
  ConnectionPool(Endpoint endpoint, PoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// An idle connection that is still open, or a new one when fewer than
  /// `size` exist, or one released by another thread within `wait_timeout`
  /// (else kStoreTimeout). While backing off after a failed connect, fails at
  /// once with that failure's code instead of connecting again.
  Result<Lease> Acquire();

  const Endpoint& endpoint() const noexcept { return endpoint_; }

 private:
  friend class Lease;
  void Release(std::unique_ptr<Connection> connection) noexcept;
  Result<Lease> Connect(std::unique_lock<std::mutex>& lock);

  const Endpoint endpoint_;
  const PoolOptions options_;
  std::mutex mu_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Connection>> idle_;  // most recently used last
  std::size_t open_ = 0;                           // idle + leased + being connected
  SteadyClock::time_point retry_at_{};             // no connect attempt before this
  std::chrono::milliseconds backoff_{0};           // 0: the last connect succeeded
  std::error_code last_error_;
};

}  // namespace jeff::redis_detail
