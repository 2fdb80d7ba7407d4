#include "next_path.hpp"

namespace example {

std::optional<std::string> SafeNextPath(std::string_view next) {
  if (next.empty() || next.size() > 2000 || next[0] != '/') return std::nullopt;
  if (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) return std::nullopt;
  for (unsigned char c : next) {
    if (c <= 0x20 || c == 0x7f || c == '\\') return std::nullopt;
  }
  return std::string(next);
}

std::string LoginPathFor(std::string_view path, bool signed_out) {
  std::string out = signed_out ? "/login?signed_out=1" : "/login";
  if (path == "/" || !SafeNextPath(path)) return out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += signed_out ? "&next=" : "?next=";
  for (unsigned char c : path) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '/' || c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace example
