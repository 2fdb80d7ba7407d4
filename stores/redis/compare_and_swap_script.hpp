#pragma once
// Internal to jeff-redis (never installed): the server-side compare-and-swap
// and the `<8-byte big-endian version><value>` layout it works on.

#include <cstdint>
#include <string>
#include <string_view>

namespace jeff::redis_detail {

/// KEYS[1] = key, ARGV[1] = expected version (8 bytes), ARGV[2] = new
/// version + value, ARGV[3] = TTL in milliseconds. Returns 1 when written, 0
/// on a lost race (another version, or the key is gone), -1 when the stored
/// value is too short to carry a version. ("Only if absent" needs no script:
/// the store sends SET NX.)
inline constexpr std::string_view kCompareAndSwapScript = R"lua(
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if #current < 8 then return -1 end
if string.sub(current, 1, 8) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
)lua";

/// Bytes of the version prefix of a stored value.
inline constexpr std::size_t kVersionBytes = 8;

/// The 8-byte big-endian encoding of `version`, appended to `out`.
inline void AppendVersion(std::uint64_t version, std::string& out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((version >> shift) & 0xFF));
  }
}

/// The version encoded in the first 8 bytes of `stored` (which has at least 8).
inline std::uint64_t ReadVersion(std::string_view stored) noexcept {
  std::uint64_t version = 0;
  for (std::size_t i = 0; i < kVersionBytes; ++i) {
    version = (version << 8) | static_cast<unsigned char>(stored[i]);
  }
  return version;
}

/// Lower-case hex SHA-1 of `script`, the name EVALSHA uses.
std::string ScriptSha1(std::string_view script);

}  // namespace jeff::redis_detail
