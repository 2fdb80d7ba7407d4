#include "async_replies.hpp"

#include "../compare_and_swap_script.hpp"
#include "../connection.hpp"

#include <hiredis/hiredis.h>

namespace jeff::redis_detail {

Result<std::optional<Versioned>> FetchOutcome(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_NIL:
      return std::optional<Versioned>();
    case REDIS_REPLY_STRING: {
      if (r.len < kVersionBytes) return Errc::kStoreCorrupt;
      const std::string_view stored(r.str, r.len);
      return std::optional<Versioned>(
          Versioned{std::string(stored.substr(kVersionBytes)), ReadVersion(stored)});
    }
    case REDIS_REPLY_ERROR:
      return ErrorFromReply(r);
    default:
      return Errc::kStoreProtocol;
  }
}

Result<bool> SetIfAbsentOutcome(const redisReply& r) {
  if (r.type == REDIS_REPLY_NIL) return false;
  if (IsOk(r)) return true;
  if (r.type == REDIS_REPLY_ERROR) return ErrorFromReply(r);
  return Errc::kStoreProtocol;
}

Result<bool> ScriptOutcome(const redisReply& r) {
  if (r.type == REDIS_REPLY_ERROR) return ErrorFromReply(r);
  if (r.type != REDIS_REPLY_INTEGER) return Errc::kStoreProtocol;
  switch (r.integer) {
    case 1:
      return true;
    case 0:
      return false;
    case -1:
      return Errc::kStoreCorrupt;
    default:
      return Errc::kStoreProtocol;
  }
}

bool IsOk(const redisReply& r) noexcept {
  return r.type == REDIS_REPLY_STATUS && ReplyText(r) == "OK";
}

Result<void> EraseOutcome(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER) return {};
  if (r.type == REDIS_REPLY_ERROR) return ErrorFromReply(r);
  return Errc::kStoreProtocol;
}

Result<void> WaitOutcome(const redisReply& write, const redisReply& acks, int replicas) {
  if (write.type == REDIS_REPLY_ERROR) return {};
  if (acks.type == REDIS_REPLY_ERROR) return ErrorFromReply(acks);
  if (acks.type != REDIS_REPLY_INTEGER) return Errc::kStoreProtocol;
  if (acks.integer < replicas) return Errc::kStoreUnavailable;
  return {};
}

}  // namespace jeff::redis_detail
