#include <jeff/clock.hpp>

namespace jeff {

Clock SystemClock() {
  return [] { return std::chrono::system_clock::now(); };
}

}  // namespace jeff
