#include <jeff/engine/observer.hpp>

#include <jeff/engine/stateful_ops.hpp>

#include <algorithm>

namespace jeff::engine {

void Observer::Emit(const Event& event) const noexcept {
  if (!options_.on_event) return;
  try {
    options_.on_event(event);
  } catch (...) {
    // The hook is for logging: its failure must not change the answer.
  }
}

void Observer::EndCall(StoreOp op, Clock::time_point start, std::error_code error, std::string_view key) {
  if (enabled_) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    const double seconds = static_cast<double>(ns) * 1e-9;
    const auto bound = std::lower_bound(kStoreCallBuckets.begin(), kStoreCallBuckets.end(), seconds);
    Histogram& h = calls_[static_cast<std::size_t>(op)];
    h.buckets[static_cast<std::size_t>(bound - kStoreCallBuckets.begin())].fetch_add(1, std::memory_order_relaxed);
    h.sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)), std::memory_order_relaxed);
    if (error) store_errors_.Add();
  }
  if (error) {
    Event event;
    event.kind = Event::Kind::kStoreError;
    event.error = error;
    event.op = op;
    if (options_.events_include_key) event.key = key;
    Emit(event);
  }
}

void Observer::Denied(std::string_view key) {
  if (enabled_) denylist_hits_.Add();
  Event event;
  event.kind = Event::Kind::kDeniedToken;
  if (options_.events_include_key) event.key = key;
  Emit(event);
}

void Observer::Failed(std::error_code error) {
  if (error != Errc::kConflict) return;
  Event event;
  event.kind = Event::Kind::kConflictExhausted;
  event.error = error;
  Emit(event);
}

void Observer::Finished(CheckOp& op) noexcept { Checked(op.result().status); }

void Observer::Finished(SetOp& op) {
  if (!op.result()) return Failed(op.result().error());
  if (enabled_) sets_.Add();
}

void Observer::Finished(CookieMutationOp& op) {
  if (op.kind() == CookieMutationOp::Kind::kClear) {
    if (!op.cleared()) return Failed(op.cleared().error());
    if (enabled_) clears_.Add();
    return;
  }
  if (!op.rotated()) return Failed(op.rotated().error());
  if (enabled_) rotations_.Add();
}

void Observer::Finished(DeleteAllOp& op) {
  if (!op.result()) return Failed(op.result().error());
  if (enabled_) deletes_.Add(*op.result());
}

void Observer::Finished(DeleteSomeOp& op) {
  if (!op.result()) return Failed(op.result().error());
  if (enabled_) deletes_.Add(*op.result());
}

void Observer::Finished(ListOp&) {}

MetricsSnapshot Observer::Snapshot() const noexcept {
  MetricsSnapshot s;
  s.enabled = enabled_;
  s.checks.ok = checks_[static_cast<std::size_t>(CheckStatus::kOk)].Get();
  s.checks.absent = checks_[static_cast<std::size_t>(CheckStatus::kAbsent)].Get();
  s.checks.malformed = checks_[static_cast<std::size_t>(CheckStatus::kMalformed)].Get();
  s.checks.unknown = checks_[static_cast<std::size_t>(CheckStatus::kUnknown)].Get();
  s.checks.expired = checks_[static_cast<std::size_t>(CheckStatus::kExpired)].Get();
  s.checks.store_error = checks_[static_cast<std::size_t>(CheckStatus::kStoreError)].Get();
  s.sets = sets_.Get();
  s.clears = clears_.Get();
  s.deletes = deletes_.Get();
  s.rotations = rotations_.Get();
  s.cas_attempts = cas_attempts_.Get();
  s.cas_conflicts = cas_conflicts_.Get();
  s.store_errors = store_errors_.Get();
  s.token_refreshes = refreshes_.Get();
  s.denylist_hits = denylist_hits_.Get();
  for (std::size_t op = 0; op < kStoreOpCount; ++op) {
    LatencyHistogram& out = s.store_calls[op];
    const Histogram& in = calls_[op];
    for (std::size_t i = 0; i < in.buckets.size(); ++i) {
      out.buckets[i] = in.buckets[i].load(std::memory_order_relaxed);
      out.count += out.buckets[i];
    }
    out.sum_seconds = static_cast<double>(in.sum_ns.load(std::memory_order_relaxed)) * 1e-9;
  }
  return s;
}

}  // namespace jeff::engine
