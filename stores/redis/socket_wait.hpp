#pragma once
// Internal to jeff-redis (never installed): waiting for a socket against a
// deadline, shared by the plain TCP and the TLS transport.

#include <chrono>

namespace jeff::redis_detail {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

/// Waits until `fd` is ready for `events` (POLLIN, POLLOUT) or `deadline`
/// passes; false on timeout. Past the deadline it still polls once without
/// waiting: the deadline bounds waiting for the server, and bytes that have
/// arrived are consumed even when this thread was scheduled late. POLLERR /
/// POLLHUP count as ready (the next I/O call reports them).
bool WaitReady(int fd, short events, Deadline deadline) noexcept;

/// True when `fd` has nothing to read right now (poll(2) with timeout 0).
bool NothingToRead(int fd) noexcept;

}  // namespace jeff::redis_detail
