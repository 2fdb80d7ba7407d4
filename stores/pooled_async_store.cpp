#include <jeff/stores/pooled_async_store.hpp>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace jeff {
namespace {

// Whether this store's handlers may still be called. Shared by the store and
// every completion in flight, so that a completion reaching the loop after
// the store is gone finds it closed and drops its handler.
struct Gate {
  std::mutex mu;
  std::condition_variable idle;
  std::atomic<bool> closed{false};  // written under `mu`
  std::size_t running = 0;          // handlers being called now; guarded by `mu`
};

// The gate whose handler this thread is calling, so that a destructor called
// from that handler does not wait for itself.
thread_local const Gate* tl_calling = nullptr;

// Calls `done(result)` on the loop unless the store was destroyed; the
// destructor waits for a call in progress on another thread.
template <typename Handler, typename R>
void Deliver(const std::shared_ptr<Gate>& gate, Handler& done, R result) {
  {
    std::lock_guard lock(gate->mu);
    if (gate->closed.load(std::memory_order_relaxed)) return;
    ++gate->running;
  }
  struct Leave {
    Gate& gate;
    const Gate* outer;
    ~Leave() {
      tl_calling = outer;
      std::lock_guard lock(gate.mu);
      if (--gate.running == 0) gate.idle.notify_all();
    }
  } leave{*gate, tl_calling};
  tl_calling = gate.get();
  done(std::move(result));
}

}  // namespace

struct PooledAsyncStore::Impl {
  Impl(std::shared_ptr<Store> s, boost::asio::any_io_executor l, PooledAsyncStoreOptions o)
      : store(std::move(s)),
        loop(std::move(l)),
        // Saturating: max_queued may be "unlimited" (SIZE_MAX).
        limit(o.max_queued > SIZE_MAX - o.threads ? SIZE_MAX : o.threads + o.max_queued),
        options(o),
        pool(o.threads) {}

  // Runs `op(store)` on the pool and hands its result to `done` on the loop;
  // refuses at once when the pool's queue is full.
  template <typename R, typename Handler, typename Op>
  void Submit(Handler done, Op op) {
    if (pending.fetch_add(1, std::memory_order_relaxed) >= limit) {
      pending.fetch_sub(1, std::memory_order_relaxed);
      boost::asio::post(loop, [gate = gate, done = std::move(done)]() mutable {
        Deliver(gate, done, R(Errc::kStoreUnavailable));
      });
      return;
    }
    try {
      // The tracked executor is the loop's outstanding work until the
      // completion has run on the loop (or the job is dropped unrun). It
      // travels inside the completion, so the loop's work count drops on the
      // loop's own thread, after the handler: released on the pool thread
      // instead, a late release could find the count at zero and stop a loop
      // that the application had already given a new call.
      boost::asio::post(pool, [this, gate = gate, done = std::move(done), op = std::move(op),
                               work = boost::asio::prefer(
                                   loop, boost::asio::execution::outstanding_work.tracked)]() mutable {
        std::optional<R> result;
        if (!gate->closed.load(std::memory_order_relaxed)) result.emplace(Run<R>(op));
        pending.fetch_sub(1, std::memory_order_relaxed);
        if (!result) return;
        // The store noted its reason on this pool thread: it travels with
        // the result and is noted again on the loop, before the handler.
        std::string why = result->ok() ? std::string() : ErrorDetail(result->error());
        // Posted through the untracked executor: no tracked copy may
        // outlive this post on the pool thread.
        boost::asio::post(loop, [gate = std::move(gate), done = std::move(done),
                                 result = std::move(*result), why = std::move(why),
                                 work = std::move(work)]() mutable {
          if (!why.empty()) NoteError(result.error(), why);
          Deliver(gate, done, std::move(result));
        });
      });
    } catch (...) {
      pending.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
  }

  // A store reports failures as values; only an allocation can throw, and an
  // exception must not escape a pool thread (it would end the process).
  template <typename R, typename Op>
  R Run(Op& op) noexcept {
    try {
      return op(*store);
    } catch (...) {
      return R(Errc::kStoreUnavailable);
    }
  }

  std::shared_ptr<Store> store;
  boost::asio::any_io_executor loop;
  std::size_t limit;  // calls admitted at once: running + waiting
  PooledAsyncStoreOptions options;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  std::atomic<std::size_t> pending{0};
  // Last: destroyed first, with the jobs it never ran.
  boost::asio::thread_pool pool;
};

PooledAsyncStore::PooledAsyncStore(std::shared_ptr<Store> store, boost::asio::any_io_executor loop,
                                   PooledAsyncStoreOptions options) {
  if (!store) throw std::invalid_argument("PooledAsyncStore: store must not be null");
  if (options.threads == 0) throw std::invalid_argument("PooledAsyncStore: threads must be >= 1");
  impl_ = std::make_unique<Impl>(std::move(store), std::move(loop), options);
}

PooledAsyncStore::~PooledAsyncStore() {
  Gate& gate = *impl_->gate;
  {
    std::unique_lock lock(gate.mu);
    gate.closed.store(true, std::memory_order_relaxed);
    const std::size_t own = tl_calling == &gate ? 1 : 0;
    gate.idle.wait(lock, [&] { return gate.running <= own; });
  }
  // Jobs not started are dropped; running ones finish their store call.
  impl_->pool.stop();
  impl_->pool.join();
}

void PooledAsyncStore::AsyncFetch(std::string_view key, FetchHandler done) {
  impl_->Submit<Result<std::optional<Versioned>>>(
      std::move(done), [key = std::string(key)](Store& s) { return s.Fetch(key); });
}

void PooledAsyncStore::AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                                           std::string_view value, std::chrono::milliseconds ttl,
                                           SwapHandler done) {
  impl_->Submit<Result<bool>>(std::move(done),
                              [key = std::string(key), expected, value = std::string(value),
                               ttl](Store& s) { return s.CompareAndSwap(key, expected, value, ttl); });
}

void PooledAsyncStore::AsyncErase(std::string_view key, EraseHandler done) {
  impl_->Submit<Result<void>>(std::move(done),
                              [key = std::string(key)](Store& s) { return s.Erase(key); });
}

bool PooledAsyncStore::WaitsForReplicas() const noexcept { return impl_->store->WaitsForReplicas(); }

std::size_t PooledAsyncStore::pending() const noexcept {
  return impl_->pending.load(std::memory_order_relaxed);
}

const PooledAsyncStoreOptions& PooledAsyncStore::options() const noexcept { return impl_->options; }

const std::shared_ptr<Store>& PooledAsyncStore::store() const noexcept { return impl_->store; }

}  // namespace jeff
