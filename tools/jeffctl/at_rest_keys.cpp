#include "at_rest_keys.hpp"

#include "args.hpp"

#include <jeff/token.hpp>

#include <charconv>
#include <string>

namespace jeff::ctl {

std::vector<AtRestKey> ParseAtRestKeys(std::string_view text) {
  std::vector<AtRestKey> ring;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t colon = entry.find(':');
    AtRestKey key;
    const char* id_end = entry.data() + (colon == std::string_view::npos ? entry.size() : colon);
    const auto [end, ec] = std::from_chars(entry.data(), id_end, key.id);
    std::optional<std::string> bytes;
    if (colon != std::string_view::npos) bytes = Base64UrlDecode(entry.substr(colon + 1));
    if (colon == 0 || ec != std::errc() || end != id_end || !bytes || bytes->size() != kAtRestKeyBytes) {
      throw UsageError("JEFF_AT_REST_KEYS: each entry must be ID:KEY, KEY 32 bytes in base64url");
    }
    for (const AtRestKey& other : ring) {
      if (other.id == key.id) throw UsageError("JEFF_AT_REST_KEYS: key id " + std::to_string(key.id) + " repeats");
    }
    key.key = std::move(*bytes);
    ring.push_back(std::move(key));
  }
  return ring;
}

}  // namespace jeff::ctl
