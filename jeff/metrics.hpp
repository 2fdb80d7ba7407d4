#pragma once
/// \file
/// Observability of Sessions and AsyncSessions: a snapshot of counters and
/// store-call latency histograms (Options::metrics), an event hook
/// (Options::on_event), and the Prometheus text exposition of a snapshot.

#include <jeff/export.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace jeff {

/// Upper bounds (seconds) of the store-call latency histogram buckets, in
/// increasing order; a final +Inf bucket follows them.
inline constexpr std::array<double, 14> kStoreCallBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

/// The store operations whose calls are timed.
enum class StoreOp : std::uint8_t {
  kFetch,  ///< a read of a record (Store::FetchInto, AsyncStore::AsyncFetch)
  kCas,    ///< a compare-and-swap (Store::CompareAndSwap, AsyncStore::AsyncCompareAndSwap)
  kErase,  ///< an unconditional erase (Store::Erase, AsyncStore::AsyncErase)
};

/// Number of StoreOp values (the size of per-operation arrays).
inline constexpr std::size_t kStoreOpCount = 3;

/// The readable name of a store operation ("fetch", "cas", "erase").
JEFF_API std::string_view ToString(StoreOp op) noexcept;

/// Calls of one kind of store operation since construction, and the latency
/// of those timed: one in Options::metrics_timed_one_in on average, drawn at
/// random (all of them when it is 1).
struct LatencyHistogram {
  std::uint64_t calls = 0;  ///< every call made, timed or not
  /// buckets[i]: timed calls that took at most kStoreCallBuckets[i] seconds
  /// and more than the previous bound (not cumulative); the last element
  /// counts the timed calls slower than every bound.
  std::array<std::uint64_t, kStoreCallBuckets.size() + 1> buckets{};
  double sum_seconds = 0;   ///< total time of the timed calls
  std::uint64_t count = 0;  ///< timed calls (the sum of buckets)
};

/// Check outcomes by status (see CheckStatus).
struct CheckCounts {
  std::uint64_t ok = 0;           ///< CheckStatus::kOk
  std::uint64_t absent = 0;       ///< CheckStatus::kAbsent
  std::uint64_t malformed = 0;    ///< CheckStatus::kMalformed
  std::uint64_t unknown = 0;      ///< CheckStatus::kUnknown
  std::uint64_t expired = 0;      ///< CheckStatus::kExpired
  std::uint64_t store_error = 0;  ///< CheckStatus::kStoreError
  std::uint64_t device_proof_required = 0;  ///< CheckStatus::kDeviceProofRequired
};

/// A copy of a Sessions' (or AsyncSessions') counters at one moment. Each
/// number is read on its own (relaxed): under load, numbers read a moment
/// apart may disagree by the operations in flight. All zero when
/// Options::metrics is off.
struct MetricsSnapshot {
  bool enabled = false;  ///< Options::metrics was on: the numbers below move
  CheckCounts checks;    ///< Check and CheckBearer outcomes
  std::uint64_t sets = 0;        ///< successful Set calls (sessions created)
  std::uint64_t clears = 0;      ///< successful Clear calls (logouts)
  std::uint64_t deletes = 0;     ///< sessions revoked by Delete (the sum of its results)
  std::uint64_t rotations = 0;   ///< successful Rotate and Reauthenticated calls
  std::uint64_t cas_attempts = 0;   ///< compare-and-swap calls made
  std::uint64_t cas_conflicts = 0;  ///< compare-and-swap calls that lost to a concurrent change
  std::uint64_t store_errors = 0;   ///< store calls that failed (timeouts, connection loss, ...)
  std::uint64_t token_refreshes = 0;  ///< stateless tokens re-issued by Check (sliding expiry)
  std::uint64_t denylist_hits = 0;    ///< stateless tokens refused because they are denylisted
  std::uint64_t device_registrations = 0;  ///< DBSC: device keys bound by RegisterDevice
  std::uint64_t device_refreshes = 0;      ///< DBSC: bound cookies renewed by RefreshDevice
  std::uint64_t device_proofs_refused = 0;  ///< DBSC: proofs refused (malformed, bad signature, wrong challenge, ...)
  /// Store-call latency by operation, indexed by StoreOp: the calls on
  /// Options::store, or in stateless mode on the denylist (a fetch per
  /// Check, an only-if-absent compare-and-swap per session revoked).
  std::array<LatencyHistogram, kStoreOpCount> store_calls{};
};

/// A notable event, given to Options::on_event.
struct Event {
  /// What happened.
  enum class Kind : std::uint8_t {
    kStoreError,         ///< a store call failed; `error` says how, `op` which call
    kConflictExhausted,  ///< a change gave up after Options::cas_attempts compare-and-swap conflicts
    kDeniedToken,        ///< a stateless token was refused: its session is denylisted
    kInsecureMode,       ///< the manager was built with Options::insecure (at construction)
  };
  Kind kind = Kind::kStoreError;  ///< what happened
  std::error_code error;          ///< kStoreError: the store's error; else empty
  StoreOp op = StoreOp::kFetch;   ///< kStoreError: the failed call
  /// The store key (kStoreError, kConflictExhausted) or the application key
  /// (kDeniedToken) concerned, only when Options::events_include_key is
  /// set; else empty. Valid during the call only. Never a token or cookie.
  std::string_view key;
};

/// The readable name of an event kind ("store_error", "conflict_exhausted",
/// "denied_token", "insecure_mode").
JEFF_API std::string_view ToString(Event::Kind kind) noexcept;

/// `snapshot` in the Prometheus text exposition format 0.0.4 (which
/// OpenMetrics parsers accept): a HELP and a TYPE line per family, counters
/// named `<prefix>..._total` (e.g. `jeff_checks_total{status="ok"}`,
/// `jeff_store_calls_total{op="fetch"}`) and the
/// `<prefix>store_call_seconds` histogram of the timed calls
/// (`_bucket{op,le}`, `_sum`, `_count`). `prefix` must be a valid metric-name prefix (letters, digits,
/// `_`, `:`, not starting with a digit); std::invalid_argument otherwise.
JEFF_API std::string WritePrometheus(const MetricsSnapshot& snapshot, std::string_view prefix = "jeff_");

/// A snapshot and the labels that tell it apart from the others on one page
/// (e.g. `{{"store", "redis"}}` for a second manager), for the WritePrometheus
/// overload below. Refers to `snapshot`, which must outlive it.
struct LabeledSnapshot {
  const MetricsSnapshot& snapshot;  ///< the numbers
  /// Label names and values put first on each of its samples. Names as
  /// Prometheus allows (letters, digits, `_`, not starting with a digit or
  /// `__`), other than `status`, `op` and `le`; values any text (escaped).
  std::vector<std::pair<std::string, std::string>> labels;
};

/// Several snapshots (e.g. one per Sessions manager of an application) on
/// one page: each family (HELP and TYPE) once, with every snapshot's samples,
/// told apart by their labels; otherwise as the single-snapshot overload.
/// Snapshots must differ in their label sets (a page cannot hold one series
/// twice). std::invalid_argument for a bad prefix, a bad or repeated label
/// name, or two snapshots with the same labels.
JEFF_API std::string WritePrometheus(std::span<const LabeledSnapshot> snapshots, std::string_view prefix = "jeff_");

}  // namespace jeff
