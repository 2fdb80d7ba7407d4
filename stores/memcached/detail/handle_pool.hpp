#pragma once
// Internal to jeff-memcached (not installed): a pool of libmemcached handles.
//
// Not memcached_pool_st: its wait deadline is computed as time(NULL) plus
// the wait, so a sub-second wait can expire at once, and it cannot report
// "pool exhausted" apart from other failures.

#include <jeff/result.hpp>

#include <libmemcached-1.0/memcached.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace jeff::memcached_detail {

/// Frees a memcached_st (closing its connections).
struct HandleDeleter {
  void operator()(memcached_st* mc) const noexcept { memcached_free(mc); }
};
/// An owned libmemcached handle.
using HandlePtr = std::unique_ptr<memcached_st, HandleDeleter>;

/// A pooled handle and the reply buffer its reads use, made once with the
/// handle and kept with it: a read neither sets up nor frees a buffer, and
/// the value's bytes reuse the capacity of the last one (so each pooled
/// handle holds as much as the largest value it read, at most the store's
/// max_value_bytes).
class PooledHandle {
 public:
  /// Takes `handle` (non-null). Throws std::bad_alloc when libmemcached cannot
  /// set up the buffer.
  explicit PooledHandle(HandlePtr handle);
  ~PooledHandle();
  PooledHandle(const PooledHandle&) = delete;
  PooledHandle& operator=(const PooledHandle&) = delete;

  memcached_st* get() const noexcept { return handle_.get(); }
  /// The reply buffer, for memcached_fetch_result on get().
  memcached_result_st* result() noexcept { return &result_; }

 private:
  HandlePtr handle_;
  memcached_result_st result_;
};

/// Clones of one configured master handle, each used by one thread at a
/// time. Thread-safe. Must outlive every Lease it gave out.
class HandlePool {
 public:
  /// Exclusive use of one handle; gives it back to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    /// The handle, valid until the lease ends.
    memcached_st* get() const noexcept { return handle_->get(); }
    /// The handle's reply buffer, valid until the lease ends.
    memcached_result_st* result() const noexcept { return handle_->result(); }

   private:
    friend class HandlePool;
    Lease(HandlePool* pool, std::unique_ptr<PooledHandle> handle) noexcept
        : pool_(pool), handle_(std::move(handle)) {}
    HandlePool* pool_;
    std::unique_ptr<PooledHandle> handle_;
  };

  /// A pool of at most `size` (> 0) clones of `master`, made when first
  /// needed; Acquire waits up to `wait` for one to be free.
  HandlePool(HandlePtr master, std::size_t size, std::chrono::milliseconds wait);
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;

  /// A free handle. Errc::kStoreTimeout when all are busy for longer than
  /// the wait, Errc::kStoreUnavailable when libmemcached cannot make one.
  Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<PooledHandle> handle) noexcept;

  const HandlePtr master_;
  const std::size_t size_;
  const std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PooledHandle>> idle_;  // guarded by mutex_
  std::size_t created_ = 0;                          // guarded by mutex_
};

}  // namespace jeff::memcached_detail
