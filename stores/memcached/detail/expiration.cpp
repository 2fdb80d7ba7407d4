#include <jeff/stores/memcached/detail/expiration.hpp>

#include <algorithm>
#include <limits>

namespace jeff::memcached_detail {
namespace {

std::int64_t CeilSeconds(std::int64_t ms) noexcept { return ms / 1000 + (ms % 1000 > 0 ? 1 : 0); }

}  // namespace

std::int64_t ToExpiration(std::chrono::milliseconds ttl, const Clock& now) {
  constexpr std::int64_t kMaxAbsolute = std::numeric_limits<std::int32_t>::max();
  const std::int64_t relative = CeilSeconds(ttl.count()) + 1;
  if (relative <= kMaxRelativeExpiration) return relative;
  // Beyond this even a clock at the epoch reaches INT32_MAX; also keeps the
  // sum below from overflowing.
  if (ttl.count() >= kMaxAbsolute * 1000) return kMaxAbsolute;
  const std::int64_t absolute = CeilSeconds(ToUnixMillis(now()) + ttl.count());
  return std::clamp<std::int64_t>(absolute, kMaxRelativeExpiration + 1, kMaxAbsolute);
}

}  // namespace jeff::memcached_detail
