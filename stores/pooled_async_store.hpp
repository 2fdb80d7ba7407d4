#pragma once
/// \file
/// jeff::PooledAsyncStore: an AsyncStore over a synchronous Store whose client
/// has no asynchronous API (libmemcached; libpq as the PostgreSQL store uses
/// it). Each call runs on a bounded pool of threads, so the event loop never
/// waits for the store; the outcome is handed back to the loop. Library
/// jeff-stores-async (Boost.Asio).

#include <jeff/async_store.hpp>
#include <jeff/export.hpp>
#include <jeff/store.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace jeff {

/// Configuration of PooledAsyncStore.
struct PooledAsyncStoreOptions {
  /// Threads that run store calls: at most this many calls block in the
  /// synchronous store at once. Must be >= 1. Match it to the store's own
  /// connection pool (more threads would only wait for a connection).
  std::size_t threads = 8;
  /// Calls that may wait for a free thread. A call beyond `threads` running
  /// and `max_queued` waiting is refused at once (Errc::kStoreUnavailable)
  /// instead of growing the queue without limit. 0: no call waits.
  std::size_t max_queued = 1024;
};

/// An AsyncStore that runs each call of a synchronous Store on a pool
/// thread and delivers the outcome on an event loop.
///
/// - Handlers run on `loop` (posted to it), never on a pool thread and never
///   before the call returns.
/// - While calls are pending, the loop has outstanding work (an
///   io_context's run() does not return for lack of work).
/// - Overload: when `threads` calls are running and `max_queued` are
///   waiting, a further call completes with Errc::kStoreUnavailable, posted
///   to `loop` at once, without touching the store.
/// - Timeouts are the synchronous store's own (a memcached `io_timeout`, a
///   PostgreSQL `command_timeout`): a call completes with Errc::kStoreTimeout
///   when that store reports it.
/// Calls may be made from any thread (the handlers still run on `loop`).
/// The loop must outlive this object.
class JEFF_API PooledAsyncStore final : public AsyncStore {
 public:
  /// Wraps `store` (not null) with `options`, delivering outcomes on `loop`.
  /// Starts `options.threads` threads. Throws std::invalid_argument for a
  /// null store or zero threads.
  PooledAsyncStore(std::shared_ptr<Store> store, boost::asio::any_io_executor loop,
                   PooledAsyncStoreOptions options = {});
  /// Refuses new work, lets calls already running in the synchronous store
  /// finish (bounded by its timeouts), joins the threads and drops every
  /// handler not yet called: none is called after the destructor returned.
  /// May be called from a handler of this store, and from another thread
  /// than the loop's (it then waits for a handler of this store that is
  /// running on the loop).
  ~PooledAsyncStore() override;
  PooledAsyncStore(const PooledAsyncStore&) = delete;
  PooledAsyncStore& operator=(const PooledAsyncStore&) = delete;

  /// Store::Fetch on a pool thread; `done` on the loop.
  void AsyncFetch(std::string_view key, FetchHandler done) override;
  /// Store::CompareAndSwap on a pool thread; `done` on the loop.
  void AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                           std::string_view value, std::chrono::milliseconds ttl,
                           SwapHandler done) override;
  /// Store::Erase on a pool thread; `done` on the loop.
  void AsyncErase(std::string_view key, EraseHandler done) override;
  /// The synchronous store's Store::WaitsForReplicas.
  bool WaitsForReplicas() const noexcept override;

  /// Calls admitted and not yet finished in the synchronous store (running
  /// or waiting for a thread); for metrics and tests.
  std::size_t pending() const noexcept;

  /// The options in force.
  const PooledAsyncStoreOptions& options() const noexcept;

  /// The synchronous store underneath.
  const std::shared_ptr<Store>& store() const noexcept;

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jeff
