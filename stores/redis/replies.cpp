#include "replies.hpp"

#include "compare_and_swap_script.hpp"
#include "connection.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

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

Result<Endpoint> MasterAddress(const redisReply& r) {
  if (r.type == REDIS_REPLY_ERROR) return ErrorFromReply(r);
  if (r.type == REDIS_REPLY_NIL) return Errc::kStoreUnavailable;
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 2) return Errc::kStoreProtocol;
  const std::string_view host = ReplyText(*r.element[0]);
  const std::string_view port_text = ReplyText(*r.element[1]);
  std::uint16_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0) {
    return Errc::kStoreProtocol;
  }
  return Endpoint{std::string(host), port};
}

Result<ScanPage> ScanOutcome(const redisReply& r, std::string_view strip) {
  if (r.type == REDIS_REPLY_ERROR) return ErrorFromReply(r);
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 || r.element[0]->type != REDIS_REPLY_STRING ||
      r.element[1]->type != REDIS_REPLY_ARRAY) {
    return Errc::kStoreProtocol;
  }
  ScanPage page;
  page.cursor = ReplyText(*r.element[0]);
  const redisReply& keys = *r.element[1];
  page.keys.reserve(keys.elements);
  for (std::size_t i = 0; i < keys.elements; ++i) {
    const redisReply& key = *keys.element[i];
    const std::string_view text = ReplyText(key);
    if (key.type != REDIS_REPLY_STRING || !text.starts_with(strip)) return Errc::kStoreProtocol;
    page.keys.emplace_back(text.substr(strip.size()));
  }
  return page;
}

std::string GlobEscape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

bool IsMasterRole(const redisReply& r) noexcept {
  return r.type == REDIS_REPLY_ARRAY && r.elements > 0 && ReplyText(*r.element[0]) == "master";
}

}  // namespace jeff::redis_detail
