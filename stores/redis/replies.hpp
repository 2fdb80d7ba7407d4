#pragma once
// Internal to the Redis stores (never installed): the outcome of each store
// operation from the server's reply, with RedisStore's meaning (the same
// value layout and script).

#include "connection.hpp"

#include <jeff/result.hpp>
#include <jeff/store.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace jeff::redis_detail {

/// A `GET` reply: std::nullopt for nil; kStoreCorrupt for a value shorter
/// than the version; the reply's error for an error reply.
Result<std::optional<Versioned>> FetchOutcome(const redisReply& reply);

/// A `SET ... PX ... NX` reply: true for OK, false for nil.
Result<bool> SetIfAbsentOutcome(const redisReply& reply);

/// The compare-and-swap script's reply: 1 true, 0 false, -1 kStoreCorrupt.
Result<bool> ScriptOutcome(const redisReply& reply);

/// True for the status reply `+OK`.
bool IsOk(const redisReply& reply) noexcept;

/// A `DEL` reply (any count is success).
Result<void> EraseOutcome(const redisReply& reply);

/// The `WAIT` after a write: success unless the write itself was an error
/// reply (left to the write's outcome) or fewer than `replicas` replicas
/// acknowledged it (kStoreUnavailable: a failover could lose it).
Result<void> WaitOutcome(const redisReply& write, const redisReply& acks, int replicas);

/// The `[ip, port]` reply to `SENTINEL get-master-addr-by-name`:
/// kStoreUnavailable for nil (no such master yet), kStoreProtocol for
/// another shape, the reply's error for an error reply.
Result<Endpoint> MasterAddress(const redisReply& reply);

/// One page of a `SCAN` reply: the cursor to continue from ("0": done)
/// and the keys, with `strip` (the store's key prefix, which every key
/// matched starts with) removed from the front of each.
struct ScanPage {
  std::string cursor;
  std::vector<std::string> keys;
};

/// A `SCAN` reply as a ScanPage; kStoreProtocol for another shape or a key
/// without `strip`, the reply's error for an error reply.
Result<ScanPage> ScanOutcome(const redisReply& reply, std::string_view strip);

/// `text` with the glob characters of `SCAN MATCH` (`*?[]\`) escaped, so
/// that the pattern `GlobEscape(prefix) + "*"` matches exactly the keys
/// that start with `prefix`.
std::string GlobEscape(std::string_view text);

/// True when a `ROLE` reply says "master".
bool IsMasterRole(const redisReply& reply) noexcept;

}  // namespace jeff::redis_detail
