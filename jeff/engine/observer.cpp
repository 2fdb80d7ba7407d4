#include <jeff/engine/observer.hpp>

#include <jeff/engine/device_binding.hpp>
#include <jeff/engine/stateful_ops.hpp>

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace jeff::engine {
namespace {

// Per thread: the store calls of each operation still to go before the next
// timed one, the state of the generator that draws the gaps, and the slot
// of the Observer this thread used last. Trivial, so that reaching it is a
// plain thread-pointer-relative access (initial-exec: no __tls_get_addr
// call; it takes a few bytes of the static TLS space glibc keeps for
// libraries that are dlopen'ed).
struct HotThreadState {
  std::array<std::uint32_t, kStoreOpCount> untimed_left;  // 0: time the next call
  std::uint32_t random;
  std::uint64_t last_id;  // 0: none (Observer ids start at 1)
  void* last_slot;

  // The next gap: uniform in [1, 2n - 1], so n on average (xorshift32,
  // seeded from this thread's state address; statistical quality is all
  // that is needed here).
  std::uint32_t DrawGap(std::uint32_t n) noexcept {
    if (n <= 1) return 0;
    if (random == 0) random = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(this) >> 4) | 1u;
    random ^= random << 13;
    random ^= random >> 17;
    random ^= random << 5;
    return random % (2 * n - 1);  // calls left untimed: 0 .. 2n-2
  }
};

thread_local HotThreadState hot __attribute__((tls_model("initial-exec")));

// The live Observers by id, so that an exiting thread gives its slots back
// only to those still alive (an Observer leaves it before freeing slots).
std::mutex live_mutex;
std::unordered_map<std::uint64_t, Observer*>& Live() {
  static auto* live = new std::unordered_map<std::uint64_t, Observer*>();  // never destroyed: threads may exit late
  return *live;
}
std::atomic<std::uint64_t> next_id{1};

}  // namespace

// Every slot this thread holds (the one-entry cache in HotThreadState
// covers the common case of one Observer); gives them back when the thread
// exits.
struct ThreadSlots {
  std::vector<std::pair<std::uint64_t, Observer::Slot*>> held;
  ~ThreadSlots() {
    std::lock_guard lock(live_mutex);
    for (const auto& [id, slot] : held) {
      const auto it = Live().find(id);
      if (it != Live().end()) it->second->Release(slot);
    }
  }
};

namespace {
thread_local ThreadSlots thread_slots;
}  // namespace

Observer::Observer(const Options& options)
    : options_(options),
      enabled_(options.metrics),
      timed_one_in_(options.metrics_timed_one_in),
      id_(next_id.fetch_add(1, std::memory_order_relaxed)) {
  if (!enabled_) return;
  std::lock_guard lock(live_mutex);
  Live().emplace(id_, this);
}

Observer::~Observer() {
  if (!enabled_) return;
  std::lock_guard lock(live_mutex);
  Live().erase(id_);
}

Observer::Slot& Observer::Local() noexcept {
  if (hot.last_id == id_) [[likely]] return *static_cast<Slot*>(hot.last_slot);
  return LocalSlow();
}

Observer::Slot& Observer::LocalSlow() {
  ThreadSlots& mine = thread_slots;
  const auto found = std::find_if(mine.held.begin(), mine.held.end(),
                                  [this](const auto& entry) { return entry.first == id_; });
  Slot* slot = found == mine.held.end() ? nullptr : found->second;
  if (slot == nullptr) {
    {
      // First use of this Observer on this thread: forget the slots of
      // Observers that are gone (a thread may outlive many of them).
      std::lock_guard lock(live_mutex);
      std::erase_if(mine.held, [](const auto& entry) { return !Live().contains(entry.first); });
    }
    {
      std::lock_guard lock(mutex_);
      if (free_.empty()) {
        slots_.push_back(std::make_unique<Slot>());
        slot = slots_.back().get();
      } else {
        slot = free_.back();
        free_.pop_back();
      }
    }
    mine.held.emplace_back(id_, slot);
  }
  hot.last_id = id_;
  hot.last_slot = slot;
  return *slot;
}

void Observer::Release(Slot* slot) {
  std::lock_guard lock(mutex_);
  free_.push_back(slot);
}

Observer::CallStart Observer::StartEnabled(StoreOp op) const noexcept {
  std::uint32_t& left = hot.untimed_left[static_cast<std::size_t>(op)];
  // The countdown is per thread, shared by Observers: one drawn for a
  // larger metrics_timed_one_in than this one's is drawn again.
  if (left != 0 && left <= 2 * std::uint64_t{timed_one_in_} - 2) {
    --left;
    return CallStart{};
  }
  left = hot.DrawGap(timed_one_in_);
  return Clock::now();
}

void Observer::Emit(const Event& event) const noexcept {
  if (!options_.on_event) return;
  try {
    options_.on_event(event);
  } catch (...) {
    // The hook is for logging: its failure must not change the answer.
  }
}

Observer::Slot& Observer::CountCall(StoreOp op, CallStart start, std::error_code error) noexcept {
  Slot& slot = Local();
  Slot::Calls& h = slot.store_calls[static_cast<std::size_t>(op)];
  Slot::Bump(h.calls);
  if (start != CallStart{}) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    const double seconds = static_cast<double>(ns) * 1e-9;
    const auto bound = std::lower_bound(kStoreCallBuckets.begin(), kStoreCallBuckets.end(), seconds);
    Slot::Bump(h.buckets[static_cast<std::size_t>(bound - kStoreCallBuckets.begin())]);
    Slot::Bump(h.sum_ns, static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)));
  }
  if (error) slot.Add(kStoreErrors);
  return slot;
}

void Observer::StoreFailed(StoreOp op, std::error_code error, std::string_view key) const noexcept {
  Event event;
  event.kind = Event::Kind::kStoreError;
  event.error = error;
  event.op = op;
  if (options_.events_include_key) event.key = key;
  Emit(event);
}

void Observer::EndCounted(StoreOp op, CallStart start, std::error_code error, std::string_view key) {
  if (enabled_) CountCall(op, start, error);
  if (error) StoreFailed(op, error, key);
}

void Observer::EndSwap(CallStart start, const Result<bool>& swapped, std::string_view key) {
  const std::error_code error = swapped.error();
  if (enabled_) {
    Slot& slot = CountCall(StoreOp::kCas, start, error);  // one slot lookup for all three counts
    slot.Add(kCasAttempts);
    if (swapped.ok() && !*swapped) slot.Add(kCasConflicts);
  }
  if (error) StoreFailed(StoreOp::kCas, error, key);
}

void Observer::EndAdd(CallStart start, const Result<bool>& added, std::string_view key) {
  const std::error_code error = added.error();
  if (enabled_) CountCall(StoreOp::kCas, start, error).Add(kCasAttempts);
  if (error) StoreFailed(StoreOp::kCas, error, key);
}

void Observer::Denied(std::string_view key) {
  if (enabled_) Local().Add(kDenylistHits);
  Event event;
  event.kind = Event::Kind::kDeniedToken;
  if (options_.events_include_key) event.key = key;
  Emit(event);
}

void Observer::Failed(std::error_code error, std::string_view store_key) {
  if (error != Errc::kConflict) return;
  Event event;
  event.kind = Event::Kind::kConflictExhausted;
  event.error = error;
  if (options_.events_include_key) event.key = store_key;
  Emit(event);
}

void Observer::Finished(CheckOp& op) noexcept { Checked(op.result().status); }

void Observer::Finished(SetOp& op) {
  if (!op.result()) return Failed(op.result().error(), op.store_key());
  SetDone();
}

void Observer::Finished(CookieMutationOp& op) {
  if (op.kind() == CookieMutationOp::Kind::kClear) {
    if (!op.cleared()) return Failed(op.cleared().error(), op.store_key());
    return Cleared();
  }
  // UpdateMeta counts nothing; a conflict is an event as for every write.
  if (op.kind() == CookieMutationOp::Kind::kUpdateMeta) {
    if (!op.updated()) Failed(op.updated().error(), op.store_key());
    return;
  }
  if (!op.rotated()) return Failed(op.rotated().error(), op.store_key());
  if (enabled_) Local().Add(kRotations);
}

void Observer::Finished(DeleteAllOp& op) {
  if (!op.result()) return Failed(op.result().error(), op.store_key());
  Deleted(*op.result());
}

void Observer::Finished(DeleteSomeOp& op) {
  if (!op.result()) return Failed(op.result().error(), op.store_key());
  Deleted(*op.result());
}

void Observer::Finished(ListOp&) {}

void Observer::Finished(UpdateMetaOp& op) {
  if (!op.result()) Failed(op.result().error(), op.store_key());
}

void Observer::Finished(MoveOp& op) {
  if (!op.result()) Failed(op.result().error(), op.store_key());
}

void Observer::Finished(DeviceBindingOp& op) {
  if (!op.result()) {
    // kUnsupported (DBSC off) is no store failure.
    if (op.result().error() != Errc::kUnsupported) Failed(op.result().error(), op.store_key());
    return;
  }
  if (!enabled_) return;
  switch (op.outcome()) {
    case DeviceBindingOp::Outcome::kRegistered: Local().Add(kDeviceRegistrations); break;
    case DeviceBindingOp::Outcome::kRefreshed: Local().Add(kDeviceRefreshes); break;
    case DeviceBindingOp::Outcome::kRefused:
      // A registration without a session is no proof refused.
      if (op.refusal() != detail::DbscProofError::kNone) Local().Add(kDeviceProofsRefused);
      break;
    default: break;
  }
}

MetricsSnapshot Observer::Snapshot() const noexcept {
  MetricsSnapshot s;
  s.enabled = enabled_;
  std::array<std::uint64_t, kCounterCount> sums{};
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) {
    for (std::size_t i = 0; i < kCounterCount; ++i) sums[i] += slot->counters[i].load(std::memory_order_relaxed);
    for (std::size_t op = 0; op < kStoreOpCount; ++op) {
      LatencyHistogram& out = s.store_calls[op];
      const Slot::Calls& in = slot->store_calls[op];
      out.calls += in.calls.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < in.buckets.size(); ++i) {
        const std::uint64_t n = in.buckets[i].load(std::memory_order_relaxed);
        out.buckets[i] += n;
        out.count += n;
      }
      out.sum_seconds += static_cast<double>(in.sum_ns.load(std::memory_order_relaxed)) * 1e-9;
    }
  }
  const auto check = [&](CheckStatus status) { return sums[kChecks + static_cast<std::size_t>(status)]; };
  s.checks.ok = check(CheckStatus::kOk);
  s.checks.absent = check(CheckStatus::kAbsent);
  s.checks.malformed = check(CheckStatus::kMalformed);
  s.checks.unknown = check(CheckStatus::kUnknown);
  s.checks.expired = check(CheckStatus::kExpired);
  s.checks.store_error = check(CheckStatus::kStoreError);
  s.checks.device_proof_required = check(CheckStatus::kDeviceProofRequired);
  s.sets = sums[kSets];
  s.clears = sums[kClears];
  s.deletes = sums[kDeletes];
  s.rotations = sums[kRotations];
  s.device_registrations = sums[kDeviceRegistrations];
  s.device_refreshes = sums[kDeviceRefreshes];
  s.device_proofs_refused = sums[kDeviceProofsRefused];
  s.cas_attempts = sums[kCasAttempts];
  s.cas_conflicts = sums[kCasConflicts];
  s.store_errors = sums[kStoreErrors];
  s.token_refreshes = sums[kRefreshes];
  s.denylist_hits = sums[kDenylistHits];
  return s;
}

}  // namespace jeff::engine
