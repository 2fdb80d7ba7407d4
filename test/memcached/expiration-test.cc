// TTL to memcached exptime: relative up to 30 days, absolute beyond.
#include <doctest/doctest.h>
#include <jeff/stores/memcached/detail/expiration.hpp>

#include <chrono>
#include <cstdint>
#include <limits>

using namespace std::chrono_literals;
using jeff::memcached_detail::kMaxRelativeExpiration;
using jeff::memcached_detail::ToExpiration;

namespace {

constexpr std::int64_t kNowMs = 1893456000123;  // 2030-01-01T00:00:00.123Z

struct CountingClock {
  int calls = 0;
  jeff::Clock AsClock() {
    return [this] {
      ++calls;
      return jeff::FromUnixMillis(kNowMs);
    };
  }
};

}  // namespace

TEST_CASE("short ttls are relative seconds, rounded up, plus one tick") {
  CountingClock clock;
  CHECK(ToExpiration(1ms, clock.AsClock()) == 2);
  CHECK(ToExpiration(1000ms, clock.AsClock()) == 2);
  CHECK(ToExpiration(1001ms, clock.AsClock()) == 3);
  CHECK(ToExpiration(30min, clock.AsClock()) == 1801);
  CHECK(clock.calls == 0);
}

TEST_CASE("the 30-day boundary: up to 30 days relative, beyond absolute") {
  CountingClock clock;
  const auto last_relative_ttl = std::chrono::seconds(kMaxRelativeExpiration - 1);
  // The largest relative exptime memcached accepts is exactly 30 days.
  CHECK(ToExpiration(last_relative_ttl, clock.AsClock()) == kMaxRelativeExpiration);
  CHECK(clock.calls == 0);

  // One millisecond more rounds up to 30 days + 1 s: absolute.
  const std::int64_t absolute = ToExpiration(last_relative_ttl + 1ms, clock.AsClock());
  CHECK(clock.calls == 1);
  CHECK(absolute == (kNowMs + (kMaxRelativeExpiration - 1) * 1000 + 1 + 999) / 1000);
  CHECK(absolute > kMaxRelativeExpiration);

  CHECK(ToExpiration(std::chrono::days(30), clock.AsClock()) ==
        (kNowMs + 999) / 1000 + kMaxRelativeExpiration);
  CHECK(ToExpiration(std::chrono::days(365), clock.AsClock()) ==
        (kNowMs + 999) / 1000 + 365 * 86400);
}

TEST_CASE("absolute times stay absolute and within what memcached parses") {
  // A clock near 1970 would give an exptime memcached reads as relative.
  const jeff::Clock day_before_epoch = [] { return jeff::FromUnixMillis(-86400000); };
  CHECK(ToExpiration(std::chrono::days(31), day_before_epoch) == kMaxRelativeExpiration + 1);
  const jeff::Clock epoch = [] { return jeff::FromUnixMillis(0); };
  CHECK(ToExpiration(std::chrono::days(31), epoch) == 31 * 86400);
  const jeff::Clock before_epoch = [] { return jeff::FromUnixMillis(-86400000LL * 400); };
  CHECK(ToExpiration(std::chrono::days(31), before_epoch) == kMaxRelativeExpiration + 1);

  constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
  const jeff::Clock y2030 = [] { return jeff::FromUnixMillis(kNowMs); };
  CHECK(ToExpiration(std::chrono::years(20), y2030) == kInt32Max);
  CHECK(ToExpiration(std::chrono::milliseconds::max(), y2030) == kInt32Max);
}
