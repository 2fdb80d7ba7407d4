#include "cluster_slots.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>

namespace jeff::redis_detail {
namespace {

constexpr std::array<std::uint16_t, 256> MakeCrc16Table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    unsigned crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = static_cast<std::uint16_t>(crc);
  }
  return table;
}

constexpr std::array<std::uint16_t, 256> kCrc16Table = MakeCrc16Table();

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "host:port", where host may itself contain ':' (IPv6) or be empty.
std::optional<Endpoint> ParseAddress(std::string_view address, const Endpoint& from) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Endpoint e;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  e.host = host.empty() ? from.host : std::string(host);
  if (!ParseNumber(address.substr(colon + 1), e.port) || e.port == 0) return std::nullopt;
  return e;
}

}  // namespace

std::uint16_t Crc16(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (const char c : data) {
    crc = static_cast<std::uint16_t>((crc << 8) ^
                                     kCrc16Table[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xFF]);
  }
  return crc;
}

std::uint16_t KeySlot(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) & (kClusterSlots - 1);
}

std::optional<Redirect> ParseRedirect(std::string_view error, const Endpoint& from) {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.ask = true;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos || !ParseNumber(error.substr(0, space), r.slot) ||
      r.slot >= kClusterSlots) {
    return std::nullopt;
  }
  auto to = ParseAddress(error.substr(space + 1), from);
  if (!to) return std::nullopt;
  r.to = std::move(*to);
  return r;
}

Result<std::vector<SlotRange>> ParseClusterSlots(const redisReply& reply, const Endpoint& from) {
  if (reply.type != REDIS_REPLY_ARRAY) return Errc::kStoreProtocol;
  std::vector<SlotRange> ranges;
  ranges.reserve(reply.elements);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    // [first, last, [host, port, id, ...], replica...]
    const redisReply* r = reply.element[i];
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return Errc::kStoreProtocol;
    const redisReply* first = r->element[0];
    const redisReply* last = r->element[1];
    const redisReply* master = r->element[2];
    if (first->type != REDIS_REPLY_INTEGER || last->type != REDIS_REPLY_INTEGER ||
        first->integer < 0 || last->integer < first->integer || last->integer >= kClusterSlots ||
        master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING ||
        master->element[1]->type != REDIS_REPLY_INTEGER || master->element[1]->integer <= 0 ||
        master->element[1]->integer > 65535) {
      return Errc::kStoreProtocol;
    }
    SlotRange range;
    range.first = static_cast<std::uint16_t>(first->integer);
    range.last = static_cast<std::uint16_t>(last->integer);
    const std::string_view host = ReplyText(*master->element[0]);
    // "" or "?" mean the node does not know its own address: the one we used.
    range.master.host = host.empty() || host == "?" ? from.host : std::string(host);
    range.master.port = static_cast<std::uint16_t>(master->element[1]->integer);
    ranges.push_back(std::move(range));
  }
  return ranges;
}

}  // namespace jeff::redis_detail
