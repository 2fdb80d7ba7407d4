#pragma once
/// \file
/// The asynchronous Store contract, beside the synchronous one (store.hpp):
/// the same three operations on one key, each completing through a callback
/// instead of blocking the calling thread. AsyncSessions runs on it.

#include <jeff/export.hpp>
#include <jeff/result.hpp>
#include <jeff/store.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace jeff {

/// A key-value store with compare-and-swap and per-key expiry whose calls
/// never block: each one starts the operation and returns; the outcome is
/// delivered to the handler.
///
/// Same meaning, values and errors as Store (a missing key is std::nullopt,
/// a lost race is false, errors are store failures only). Rules of every call:
/// - the arguments are copied before the call returns (the string_views need
///   not outlive it);
/// - the handler is called exactly once, with the outcome, never with an
///   exception; it may be called before the call returns (the memory store
///   completes inline) or later on the thread that runs the store's event
///   loop (an Asio executor given to the store when it was made);
/// - a call that cannot be answered within the store's timeout completes
///   with Errc::kStoreTimeout; its late reply, if any, is never delivered as
///   another call's outcome.
/// An AsyncStore may be called from its event loop's thread only, unless its
/// own documentation says more (MemoryStore: any thread).
class JEFF_API AsyncStore {
 public:
  /// Receives Fetch's outcome.
  using FetchHandler = std::function<void(Result<std::optional<Versioned>>)>;
  /// Receives CompareAndSwap's outcome: true written, false lost race.
  using SwapHandler = std::function<void(Result<bool>)>;
  /// Receives Erase's outcome.
  using EraseHandler = std::function<void(Result<void>)>;

  /// Releases the store. Calls still in flight complete with an error
  /// (Errc::kStoreUnavailable) or are dropped with their handlers, never
  /// called after the destructor returned.
  virtual ~AsyncStore() = default;

  /// Reads `key` (see Store::Fetch).
  virtual void AsyncFetch(std::string_view key, FetchHandler done) = 0;

  /// Writes `value` under `key` for `ttl` (> 0) if the stored version still
  /// is `expected` (std::nullopt: only if absent); see Store::CompareAndSwap.
  virtual void AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                                   std::string_view value, std::chrono::milliseconds ttl,
                                   SwapHandler done) = 0;

  /// Removes `key`; a missing key is success (see Store::Erase).
  virtual void AsyncErase(std::string_view key, EraseHandler done) = 0;

  /// Whether a write reported done was acknowledged by replicas; same
  /// meaning and default as Store::WaitsForReplicas. Any thread.
  virtual bool WaitsForReplicas() const noexcept { return false; }

  /// The same store as a synchronous Store, for a store whose calls never
  /// wait (no I/O, no lock held across I/O) and whose Async calls only run
  /// these and call the handler inline: a caller on the loop may then call
  /// it directly, reading into its own buffer and giving out no handler
  /// (AsyncSessions does). The default, null: use the Async calls.
  /// MemoryStore returns itself. Any thread; constant for the store's
  /// lifetime.
  virtual Store* NonBlockingStore() noexcept { return nullptr; }
};

}  // namespace jeff
