#include "connection_pool.hpp"

#include <algorithm>
#include <utility>

namespace jeff::redis_detail {

Lease::~Lease() {
  if (connection_) pool_->Release(std::move(connection_));
}

ConnectionPool::ConnectionPool(Endpoint endpoint, PoolOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  idle_.reserve(options_.size);
}

ConnectionPool::~ConnectionPool() = default;

Result<Lease> ConnectionPool::Acquire() {
  const Deadline deadline = SteadyClock::now() + options_.wait_timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      const bool recent = SteadyClock::now() - connection->last_used() < options_.idle_check_after;
      if (recent || connection->IdleAndOpen()) return Lease(this, std::move(connection));
      connection.reset();  // the server went away since this one was last used
      lock.lock();
      --open_;
    }
    if (options_.size == 0 || open_ < options_.size) return Connect(lock);
    const bool available = released_.wait_until(lock, deadline, [this] {
      return !idle_.empty() || open_ < options_.size;
    });
    if (!available) return Errc::kStoreTimeout;
  }
}

Result<Lease> ConnectionPool::Connect(std::unique_lock<std::mutex>& lock) {
  const auto now = SteadyClock::now();
  if (backoff_.count() > 0) {
    if (now < retry_at_) return last_error_;
    // This attempt probes the server; the others fail fast until it is done.
    retry_at_ = now + backoff_;
  }
  ++open_;
  lock.unlock();
  auto opened = Connection::Open(endpoint_, options_.connect);
  lock.lock();
  if (opened) {
    backoff_ = std::chrono::milliseconds(0);
    lock.unlock();
    return Lease(this, std::move(*opened));
  }
  --open_;
  last_error_ = opened.error();
  if (options_.backoff_min.count() > 0) {
    backoff_ = backoff_.count() == 0 ? options_.backoff_min
                                     : std::min(backoff_ * 2, options_.backoff_max);
    retry_at_ = SteadyClock::now() + backoff_;
  }
  lock.unlock();
  released_.notify_one();  // the slot is free again for a waiter
  return opened.error();
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection) noexcept {
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

}  // namespace jeff::redis_detail
