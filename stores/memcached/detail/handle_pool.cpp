#include <jeff/stores/memcached/detail/handle_pool.hpp>

namespace jeff::memcached_detail {

HandlePool::Lease::~Lease() {
  if (handle_) pool_->Release(std::move(handle_));
}

HandlePool::HandlePool(HandlePtr master, std::size_t size, std::chrono::milliseconds wait)
    : master_(std::move(master)), size_(size), wait_(wait) {
  idle_.reserve(size_);
}

Result<HandlePool::Lease> HandlePool::Acquire() {
  std::unique_lock lock(mutex_);
  const bool available =
      freed_.wait_for(lock, wait_, [this] { return !idle_.empty() || created_ < size_; });
  if (!available) return Errc::kStoreTimeout;
  if (!idle_.empty()) {
    HandlePtr handle = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(handle));
  }
  // Cloning only reads the master, which is never used for I/O; holding the
  // lock keeps those reads away from concurrent clones at a cost paid at
  // most size_ times.
  HandlePtr handle(memcached_clone(nullptr, master_.get()));
  if (!handle) return Errc::kStoreUnavailable;
  ++created_;
  return Lease(this, std::move(handle));
}

void HandlePool::Release(HandlePtr handle) noexcept {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(handle));
  }
  freed_.notify_one();
}

}  // namespace jeff::memcached_detail
