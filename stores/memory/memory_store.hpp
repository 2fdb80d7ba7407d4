#pragma once
/// \file
/// The embedded session store: a sharded in-process map with version counters
/// and expiry. Sessions vanish with the process; one process only. It is both
/// a Store and an AsyncStore (completing inline), so the same instance serves
/// Sessions and AsyncSessions.

#include <jeff/async_store.hpp>
#include <jeff/clock.hpp>
#include <jeff/export.hpp>
#include <jeff/key_listing.hpp>
#include <jeff/store.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace jeff {

/// Configuration of MemoryStore.
struct MemoryStoreOptions {
  /// Number of independently locked shards (rounded up to a power of two). 0: 64.
  std::size_t shards = 64;
  /// Read lanes per shard: a read locks only the lane of the CPU it runs on,
  /// a write locks them all. A lock is a write to its cache line, so with one
  /// lock per shard every read moved that line between cores; with a lane
  /// per CPU the line stays with its reader. 0: std::thread::
  /// hardware_concurrency(), rounded up to a power of two, at most 64.
  std::size_t read_lanes = 0;
  /// Expired entries of a shard are reclaimed during writes, at most once per
  /// this interval per shard. 0: on every write.
  std::chrono::milliseconds sweep_interval = std::chrono::seconds(10);
  /// Largest value accepted (Errc::kValueTooLarge beyond). 0: no limit.
  std::size_t max_value_bytes = 1 << 20;
  /// Source of time for expiry. Empty: the system clock.
  Clock clock;
};

/// A thread-safe in-memory Store. Expired entries are invisible at once and
/// reclaimed by periodic per-shard sweeps, so memory stays bounded by the
/// live sessions.
///
/// Also an AsyncStore that completes inline: each Async call runs the
/// synchronous operation (a lock held for a few hundred nanoseconds, never
/// I/O) and calls its handler on the calling thread before returning. Unlike
/// other AsyncStores it may be called from any thread, concurrently, and needs
/// no event loop.
class JEFF_API MemoryStore final : public Store, public AsyncStore, public KeyListing {
 public:
  /// An empty store with `options` (zero fields take the defaults noted on
  /// MemoryStoreOptions). Throws only std::bad_alloc.
  explicit MemoryStore(MemoryStoreOptions options = {});
  /// Frees every entry. No call may still be running on another thread.
  ~MemoryStore() override;

  /// The value under `key` and its version; std::nullopt when missing or
  /// expired. Never fails.
  Result<std::optional<Versioned>> Fetch(std::string_view key) override;
  /// Fetch into `value`, reusing its capacity (see Store::FetchInto).
  /// Never fails.
  Result<std::optional<Version>> FetchInto(std::string_view key, std::string& value) override;
  /// Stores `value` for `ttl` if the live version under `key` is `expected`
  /// (std::nullopt: no live value); false otherwise. Errc::kInvalidArgument
  /// for `ttl` <= 0, Errc::kValueTooLarge beyond `max_value_bytes`.
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                              std::string_view value, std::chrono::milliseconds ttl) override;
  /// Removes `key`; a missing key is success. Never fails.
  Result<void> Erase(std::string_view key) override;
  /// KeyListing: one shard at a time (its keys collected under its read
  /// lock, visited after it, so `visit` may use this store). Fails only
  /// with `visit`'s error, or Errc::kInvalidArgument for `page` 0.
  Result<void> ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) override;

  /// Fetch, then `done` with its outcome, on this thread before returning.
  void AsyncFetch(std::string_view key, FetchHandler done) override;
  /// CompareAndSwap, then `done` with its outcome, on this thread before
  /// returning.
  void AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                           std::string_view value, std::chrono::milliseconds ttl,
                           SwapHandler done) override;
  /// Erase, then `done` with its outcome, on this thread before returning.
  void AsyncErase(std::string_view key, EraseHandler done) override;
  /// false: one process, no replicas (for Store and AsyncStore alike).
  bool WaitsForReplicas() const noexcept override { return false; }
  /// This store: its Async calls are its synchronous ones, completed inline.
  Store* NonBlockingStore() noexcept override { return this; }

  /// Number of entries held, expired or not (for tests and metrics).
  std::size_t size() const;

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jeff
