#pragma once
/// \file
/// The injected clock. Nothing in jeff reads the system clock directly: every
/// component takes a jeff::Clock, so tests (and replay tools) control time.

#include <jeff/export.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

namespace jeff {

/// Wall-clock time: sessions expire at absolute times shared across servers.
using TimePoint = std::chrono::system_clock::time_point;

/// A source of the current time. Must be thread-safe; an empty Clock in an
/// options struct means SystemClock().
using Clock = std::function<TimePoint()>;

/// The system's wall clock, as a Clock. On Linux it reads CLOCK_REALTIME_COARSE
/// (the time of the last timer tick: a few ns per read instead of ~25 ns for
/// CLOCK_REALTIME on a VM, with a resolution of 1-4 ms, far below anything a
/// session measures); elsewhere std::chrono::system_clock::now.
JEFF_API Clock SystemClock();

/// Milliseconds since the Unix epoch, the unit of every stored time.
inline std::int64_t ToUnixMillis(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// The latest Unix time in milliseconds that a TimePoint holds (system_clock
/// counts nanoseconds in 64 bits: April 2262). Stored times beyond it are
/// corrupt, token times beyond it are refused.
inline constexpr std::int64_t kMaxUnixMillis =
    std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::max().time_since_epoch()).count();

/// The inverse of ToUnixMillis, saturating: a time outside ±kMaxUnixMillis
/// gives the nearest representable one instead of wrapping around.
inline TimePoint FromUnixMillis(std::int64_t ms) noexcept {
  if (ms > kMaxUnixMillis) ms = kMaxUnixMillis;
  if (ms < -kMaxUnixMillis) ms = -kMaxUnixMillis;
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

/// A clock that moves only when told to: for tests and simulations.
/// Thread-safe. WARNING: AsClock() captures `this`; the ManualClock must
/// outlive everything that was given the returned Clock.
class ManualClock {
 public:
  /// Starts at `start` (default: 2030-01-01T00:00:00Z, a fixed, readable instant).
  explicit ManualClock(TimePoint start = FromUnixMillis(1893456000000)) noexcept
      : ns_(start.time_since_epoch().count()) {}

  /// The current manual time.
  TimePoint Now() const noexcept {
    return TimePoint(TimePoint::duration(ns_.load(std::memory_order_acquire)));
  }
  /// Moves the clock by `d` (may be negative, to test clock skew).
  void Advance(std::chrono::nanoseconds d) noexcept {
    ns_.fetch_add(std::chrono::duration_cast<TimePoint::duration>(d).count(),
                  std::memory_order_acq_rel);
  }
  /// Jumps to `t`.
  void Set(TimePoint t) noexcept { ns_.store(t.time_since_epoch().count(), std::memory_order_release); }
  /// A Clock reading this ManualClock.
  Clock AsClock() const {
    return [this] { return Now(); };
  }

 private:
  std::atomic<TimePoint::duration::rep> ns_;
};

}  // namespace jeff
