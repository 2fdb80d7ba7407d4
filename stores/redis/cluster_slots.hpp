#pragma once
// Internal to jeff-redis (never installed): Redis Cluster key slots,
// redirections and the CLUSTER SLOTS reply.

#include "connection.hpp"

#include <jeff/result.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace jeff::redis_detail {

/// Number of hash slots of a Redis Cluster.
inline constexpr std::uint16_t kClusterSlots = 16384;

/// CRC16/XMODEM (polynomial 0x1021, initial value 0), the checksum that
/// Redis Cluster uses for key slots. Crc16("123456789") == 0x31C3.
std::uint16_t Crc16(std::string_view data) noexcept;

/// The hash slot of `key`: CRC16 of the key modulo 16384, or of its hash tag
/// (the bytes between the first '{' and the next '}') when that is non-empty.
std::uint16_t KeySlot(std::string_view key) noexcept;

/// A `-MOVED <slot> <host>:<port>` or `-ASK <slot> <host>:<port>` reply.
struct Redirect {
  bool ask = false;  ///< ASK: this request only, preceded by ASKING
  std::uint16_t slot = 0;
  Endpoint to;
};

/// Parses an error reply's text as a redirect; std::nullopt when it is none
/// or malformed. An empty host means "the node you asked" (`from`).
std::optional<Redirect> ParseRedirect(std::string_view error, const Endpoint& from);

/// The master of slots [first, last].
struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  Endpoint master;
};

/// The ranges of a CLUSTER SLOTS reply from `from` (whose host stands in for
/// an empty or unknown one). kStoreProtocol when the reply has another shape.
Result<std::vector<SlotRange>> ParseClusterSlots(const redisReply& reply, const Endpoint& from);

}  // namespace jeff::redis_detail
