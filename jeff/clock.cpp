#include <jeff/clock.hpp>

#include <ctime>

namespace jeff {

Clock SystemClock() {
#ifdef CLOCK_REALTIME_COARSE
  return [] {
    timespec ts{};
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return std::chrono::system_clock::now();
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
  };
#else
  return [] { return std::chrono::system_clock::now(); };
#endif
}

}  // namespace jeff
