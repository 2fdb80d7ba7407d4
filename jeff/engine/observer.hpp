#pragma once
// Internal: the counters behind Options::metrics and the Options::on_event
// hook, shared by the synchronous driver (engine/stateful.cpp), the
// asynchronous one (async_sessions.cpp) and the stateless strategy, so that
// each operation is counted once, in one place, whichever driver ran it.
//
// Counters are per thread: each thread that runs operations of an Observer
// gets its own slot of counters (found through a one-entry thread-local
// cache), which only it writes (relaxed loads and stores, no locked
// read-modify-write on the hot path, no cache line shared between request
// threads); Snapshot sums every slot under the Observer's mutex. A slot
// outlives its thread: when the thread exits, the slot goes to the next new
// thread, which counts on from its values, so memory stays bounded by the
// peak number of threads.
//
// Every store call is counted; one in Options::metrics_timed_one_in (on
// average, per thread and operation, at random intervals so that no
// periodic workload aliases with it) is timed, because two clock reads cost
// as much as the rest of an in-memory Check's bookkeeping. Disabled (the
// default), every call is one predictable branch and the drivers read no
// clock.

#include <jeff/metrics.hpp>
#include <jeff/sessions.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

namespace jeff::engine {

class CheckOp;
class SetOp;
class CookieMutationOp;
class DeleteAllOp;
class DeleteSomeOp;
class ListOp;
class UpdateMetaOp;
class MoveOp;
class DeviceBindingOp;

class Observer {
 public:
  using Clock = std::chrono::steady_clock;
  // When a store call started, or time_point{} when it is not timed.
  using CallStart = Clock::time_point;

  // Keeps a reference to `options` (its owner's), which must outlive it.
  explicit Observer(const Options& options);
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  bool enabled() const noexcept { return enabled_; }

  // The start of a store call of `op`: now, when metrics are on and this
  // call is one of those timed; else time_point{} and no clock read.
  CallStart StartCall(StoreOp op) const noexcept { return enabled_ ? StartEnabled(op) : CallStart{}; }
  // A store call of `op` on `key` started at `start` (StartCall(op)) ended;
  // `error`: its failure, if any.
  void EndCall(StoreOp op, CallStart start, std::error_code error, std::string_view key) {
    if (enabled_ || error) EndCounted(op, start, error, key);
  }
  // A compare-and-swap on `key` started at `start` (StartCall(kCas))
  // answered `swapped`: EndCall, and a CAS attempt, a conflict when it lost.
  void EndSwap(CallStart start, const Result<bool>& swapped, std::string_view key);
  // An only-if-absent write on `key` (the stateless denylist's) started at
  // `start` answered: EndCall and a CAS attempt. Finding the key present is
  // no conflict: the entry it would have written is there.
  void EndAdd(CallStart start, const Result<bool>& added, std::string_view key);

  void Checked(CheckStatus status) noexcept {
    if (enabled_) Local().Add(kChecks + static_cast<std::size_t>(status));
  }
  void TokenRefreshed() noexcept {
    if (enabled_) Local().Add(kRefreshes);
  }
  // A denylisted stateless token of application key `key`.
  void Denied(std::string_view key);
  // A Set, a Clear, or a Delete that revoked `n` sessions succeeded (the
  // stateless strategy calls these; the stateful drivers call Finished).
  void SetDone() noexcept {
    if (enabled_) Local().Add(kSets);
  }
  void Cleared() noexcept {
    if (enabled_) Local().Add(kClears);
  }
  void Deleted(std::uint64_t n) noexcept {
    if (enabled_) Local().Add(kDeletes, n);
  }

  // An operation finished (the drivers call it with the operation).
  void Finished(CheckOp& op) noexcept;
  void Finished(SetOp& op);
  void Finished(CookieMutationOp& op);
  void Finished(DeleteAllOp& op);
  void Finished(DeleteSomeOp& op);
  void Finished(ListOp& op);
  void Finished(UpdateMetaOp& op);
  void Finished(MoveOp& op);
  void Finished(DeviceBindingOp& op);

  // Event::kInsecureMode etc.: calls on_event (if any), never throwing.
  void Emit(const Event& event) const noexcept;

  MetricsSnapshot Snapshot() const noexcept;

 private:
  // Counter indexes in a Slot: the checks by status, then the others.
  enum : std::size_t {
    kChecks = 0,
    kSets = kChecks + 7,  // one per CheckStatus
    kClears,
    kDeletes,
    kRotations,
    kCasAttempts,
    kCasConflicts,
    kStoreErrors,
    kRefreshes,
    kDenylistHits,
    kDeviceRegistrations,
    kDeviceRefreshes,
    kDeviceProofsRefused,
    kCounterCount
  };
  // One thread's counters. Written only by the thread that holds the slot
  // (load + store, relaxed), read by Snapshot (relaxed): atomics so that
  // the concurrent reads are defined, without locked instructions.
  struct alignas(64) Slot {
    using Value = std::atomic<std::uint64_t>;
    std::array<Value, kCounterCount> counters{};
    struct Calls {
      Value calls{0};  // every call, timed or not
      std::array<Value, kStoreCallBuckets.size() + 1> buckets{};
      Value sum_ns{0};
    };
    std::array<Calls, kStoreOpCount> store_calls{};

    static void Bump(Value& value, std::uint64_t n = 1) noexcept {
      value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void Add(std::size_t counter, std::uint64_t n = 1) noexcept { Bump(counters[counter], n); }
  };
  friend struct ThreadSlots;

  // This thread's slot (enabled only).
  Slot& Local() noexcept;
  // Local's slow path: another Observer used this thread last, or none yet.
  Slot& LocalSlow();
  // A thread that held `slot` exited: the slot goes to the next new thread.
  void Release(Slot* slot);
  // EndCall with metrics on or a failed call (out of line: most calls need neither).
  void EndCounted(StoreOp op, CallStart start, std::error_code error, std::string_view key);
  // EndCall's counting, on this thread's slot (enabled only); returns it.
  Slot& CountCall(StoreOp op, CallStart start, std::error_code error) noexcept;
  // EndCall's event: a failed store call of `op` on `key`.
  void StoreFailed(StoreOp op, std::error_code error, std::string_view key) const noexcept;
  // StartCall when enabled: the sampling decision.
  CallStart StartEnabled(StoreOp op) const noexcept;
  // A change of the record under `store_key` failed: counts nothing,
  // reports an exhausted CAS loop.
  void Failed(std::error_code error, std::string_view store_key);

  const Options& options_;
  const bool enabled_;
  const std::uint32_t timed_one_in_;
  const std::uint64_t id_;  // unique for the process's life (never reused)
  mutable std::mutex mutex_;  // guards slots_ and free_
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;  // slots of exited threads
};

}  // namespace jeff::engine
