#pragma once
// Internal to jeff-memcached (not installed): TTL to memcached exptime.

#include <jeff/clock.hpp>

#include <chrono>
#include <cstdint>

namespace jeff::memcached_detail {

/// memcached reads an exptime above this (30 days, in seconds) as an
/// absolute Unix time, and one up to it as seconds from now.
inline constexpr std::int64_t kMaxRelativeExpiration = 60 * 60 * 24 * 30;

/// The exptime that keeps an item for at least `ttl` (> 0).
///
/// memcached's clock ticks in whole seconds and an item set with relative
/// exptime N lives between N-1 and N seconds, so the TTL is rounded up to
/// whole seconds and one second added. When that exceeds
/// kMaxRelativeExpiration, the absolute Unix time `now() + ttl` (rounded
/// up) is sent instead; `now` is called only then. Absolute times are kept
/// above kMaxRelativeExpiration (a clock near 1970 must not turn into a
/// relative time) and at most INT32_MAX, the largest exptime memcached
/// parses (2038-01-19).
std::int64_t ToExpiration(std::chrono::milliseconds ttl, const Clock& now);

}  // namespace jeff::memcached_detail
