#pragma once
// Internal: the counters behind Options::metrics and the Options::on_event
// hook, shared by the synchronous driver (engine/stateful.cpp), the
// asynchronous one (async_sessions.cpp) and the stateless strategy, so that
// each operation is counted once, in one place, whichever driver ran it.
//
// Counters are relaxed atomics, each on its own cache line (no false sharing
// between request threads). Disabled (the default), every call is one
// predictable branch and the drivers read no clock.

#include <jeff/metrics.hpp>
#include <jeff/sessions.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>

namespace jeff::engine {

class CheckOp;
class SetOp;
class CookieMutationOp;
class DeleteAllOp;
class DeleteSomeOp;
class ListOp;

class Observer {
 public:
  using Clock = std::chrono::steady_clock;

  // Keeps a reference to `options` (its owner's), which must outlive it.
  explicit Observer(const Options& options) noexcept
      : options_(options), enabled_(options.metrics) {}
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  bool enabled() const noexcept { return enabled_; }

  // The start of a store call: now, when metrics are on; else no clock read.
  Clock::time_point StartCall() const noexcept { return enabled_ ? Clock::now() : Clock::time_point{}; }
  // A store call of `op` on `key` started at `start` (StartCall) ended;
  // `error`: its failure, if any.
  void EndCall(StoreOp op, Clock::time_point start, std::error_code error, std::string_view key);
  // A compare-and-swap on `key` started at `start` (StartCall) answered
  // `swapped`: EndCall, and a CAS attempt, a conflict when it lost.
  void EndSwap(Clock::time_point start, const Result<bool>& swapped, std::string_view key) {
    EndCall(StoreOp::kCas, start, swapped.error(), key);
    if (!enabled_) return;
    cas_attempts_.Add();
    if (swapped.ok() && !*swapped) cas_conflicts_.Add();
  }

  void Checked(CheckStatus status) noexcept {
    if (enabled_) checks_[static_cast<std::size_t>(status)].Add();
  }
  void TokenRefreshed() noexcept {
    if (enabled_) refreshes_.Add();
  }
  // A denylisted stateless token of application key `key`.
  void Denied(std::string_view key);

  // An operation finished (the drivers call it with the operation).
  void Finished(CheckOp& op) noexcept;
  void Finished(SetOp& op);
  void Finished(CookieMutationOp& op);
  void Finished(DeleteAllOp& op);
  void Finished(DeleteSomeOp& op);
  void Finished(ListOp& op);

  // Event::kInsecureMode etc.: calls on_event (if any), never throwing.
  void Emit(const Event& event) const noexcept;

  MetricsSnapshot Snapshot() const noexcept;

 private:
  struct alignas(64) Counter {
    std::atomic<std::uint64_t> value{0};
    void Add(std::uint64_t n = 1) noexcept { value.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t Get() const noexcept { return value.load(std::memory_order_relaxed); }
  };
  struct alignas(64) Histogram {
    std::array<std::atomic<std::uint64_t>, kStoreCallBuckets.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  // A change that failed: counts nothing, reports an exhausted CAS loop.
  void Failed(std::error_code error);

  const Options& options_;
  const bool enabled_;
  std::array<Counter, 6> checks_;
  Counter sets_, clears_, deletes_, rotations_, cas_attempts_, cas_conflicts_, store_errors_, refreshes_,
      denylist_hits_;
  std::array<Histogram, kStoreOpCount> calls_;
};

}  // namespace jeff::engine
