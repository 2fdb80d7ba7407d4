// The clock helpers: Unix-millisecond conversions at the edges of TimePoint.

#include <doctest/doctest.h>
#include <jeff/clock.hpp>

#include <cstdint>

TEST_CASE("ToUnixMillis and FromUnixMillis round-trip") {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1893456000123}, -std::int64_t{86400000}, jeff::kMaxUnixMillis}) {
    CAPTURE(ms);
    CHECK(jeff::ToUnixMillis(jeff::FromUnixMillis(ms)) == ms);
  }
}

// Review defect 5: a time past April 2262 wrapped around to the past.
TEST_CASE("FromUnixMillis saturates instead of wrapping") {
  const jeff::TimePoint last = jeff::FromUnixMillis(jeff::kMaxUnixMillis);
  CHECK(last > jeff::FromUnixMillis(0));
  CHECK(jeff::FromUnixMillis(jeff::kMaxUnixMillis + 1) == last);
  CHECK(jeff::FromUnixMillis(INT64_MAX) == last);
  CHECK(jeff::FromUnixMillis(INT64_MIN) == jeff::FromUnixMillis(-jeff::kMaxUnixMillis));
  CHECK(jeff::FromUnixMillis(INT64_MIN) < jeff::FromUnixMillis(0));
  // April 2262: 9,223,372,036,854 ms after the epoch.
  CHECK(jeff::kMaxUnixMillis == 9223372036854);
}
