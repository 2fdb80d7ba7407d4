#include "socket_wait.hpp"

#include <poll.h>

#include <cerrno>
#include <climits>

namespace jeff::redis_detail {
namespace {

// Milliseconds left until `deadline`, rounded up so that poll never returns
// a hair early; 0 once it has passed.
int MillisLeft(Deadline deadline) noexcept {
  const auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace

bool WaitReady(int fd, short events, Deadline deadline) noexcept {
  for (;;) {
    const int ms = MillisLeft(deadline);
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return true;  // readiness, or POLLERR/POLLHUP that the next call reports
    if (n == 0 && ms == 0) return false;
    if (n < 0 && errno != EINTR) return true;
  }
}

bool NothingToRead(int fd) noexcept {
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n == 0;
}

}  // namespace jeff::redis_detail
