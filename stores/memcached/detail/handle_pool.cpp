#include <jeff/stores/memcached/detail/handle_pool.hpp>

#include <new>

namespace jeff::memcached_detail {

PooledHandle::PooledHandle(HandlePtr handle) : handle_(std::move(handle)) {
  if (memcached_result_create(handle_.get(), &result_) == nullptr) throw std::bad_alloc();
}

PooledHandle::~PooledHandle() { memcached_result_free(&result_); }

HandlePool::Lease::~Lease() {
  if (handle_) pool_->Release(std::move(handle_));
}

HandlePool::HandlePool(HandlePtr master, std::size_t size, std::chrono::milliseconds wait)
    : master_(std::move(master)), size_(size), wait_(wait) {
  idle_.reserve(size_);
}

Result<HandlePool::Lease> HandlePool::Acquire() {
  std::unique_lock lock(mutex_);
  const auto available = [this] { return !idle_.empty() || created_ < size_; };
  // The deadline (a clock read) only when there is something to wait for.
  if (!available() && !freed_.wait_for(lock, wait_, available)) return Errc::kStoreTimeout;
  if (!idle_.empty()) {
    std::unique_ptr<PooledHandle> handle = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(handle));
  }
  // Cloning only reads the master, which is never used for I/O; holding the
  // lock keeps those reads away from concurrent clones at a cost paid at
  // most size_ times.
  HandlePtr clone(memcached_clone(nullptr, master_.get()));
  if (!clone) return Errc::kStoreUnavailable;
  std::unique_ptr<PooledHandle> handle;
  try {
    handle = std::make_unique<PooledHandle>(std::move(clone));
  } catch (const std::bad_alloc&) {
    return Errc::kStoreUnavailable;
  }
  ++created_;
  return Lease(this, std::move(handle));
}

void HandlePool::Release(std::unique_ptr<PooledHandle> handle) noexcept {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(handle));
  }
  freed_.notify_one();
}

}  // namespace jeff::memcached_detail
