#include <jeff/detail/session_cookie.hpp>

namespace jeff::detail {

std::optional<SessionCookie> ParseSessionCookie(std::string_view value) noexcept {
  if (value.size() != kSessionCookieChars || value[kKidChars] != '.') return std::nullopt;
  SessionCookie cookie;
  cookie.kid = value.substr(0, kKidChars);
  std::array<std::uint8_t, kKidBytes> kid_bytes{};
  if (!Base64UrlDecodeExact(cookie.kid, kid_bytes)) return std::nullopt;
  if (!Base64UrlDecodeExact(value.substr(kKidChars + 1), cookie.token)) return std::nullopt;
  return cookie;
}

std::string FormatSessionCookie(std::string_view kid, const Token& token) {
  std::string out;
  out.reserve(kSessionCookieChars);
  out.append(kid);
  out.push_back('.');
  out.append(Base64UrlEncode(std::span<const std::uint8_t>(token)));
  return out;
}

}  // namespace jeff::detail
