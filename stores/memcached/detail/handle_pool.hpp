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
    memcached_st* get() const noexcept { return handle_.get(); }

   private:
    friend class HandlePool;
    Lease(HandlePool* pool, HandlePtr handle) noexcept : pool_(pool), handle_(std::move(handle)) {}
    HandlePool* pool_;
    HandlePtr handle_;
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
  void Release(HandlePtr handle) noexcept;

  const HandlePtr master_;
  const std::size_t size_;
  const std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<HandlePtr> idle_;  // guarded by mutex_
  std::size_t created_ = 0;      // guarded by mutex_
};

}  // namespace jeff::memcached_detail
