#pragma once
// Durations in tests that are about time (a call fails by its timeout and
// not by a hang; a loop is never blocked). A timer never fires early, so
// lower bounds are checked in every build. Upper bounds hold in optimised
// builds only: sanitizer builds (instrumented, often unoptimised) run several
// times slower and meson multiplies only its own timeout for them, so there
// an upper bound is reported, not checked (as test/redis/loop_stall-test.cc
// does). Where a bound separates two behaviours (failing at once vs waiting
// for a timeout), compare with the slower behaviour's own lower bound
// instead: that holds in every build.

#include <doctest/doctest.h>

#include <chrono>

namespace jeff::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// A duration in milliseconds, for messages.
template <typename Rep, typename Period>
double Millis(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace jeff::test

// CHECK(took <= bound) for std::chrono durations of one type, in optimised
// builds; under sanitizers a MESSAGE with both values.
#define JEFF_CHECK_WITHIN(took, bound)                                                     \
  do {                                                                                     \
    if constexpr (::jeff::test::kSanitized) {                                              \
      MESSAGE(#took " = " << ::jeff::test::Millis(took) << " ms (bound "                   \
                          << ::jeff::test::Millis(bound) << " ms, not checked under sanitizers)"); \
    } else {                                                                               \
      CHECK((took) <= (bound));                                                            \
    }                                                                                      \
  } while (false)
