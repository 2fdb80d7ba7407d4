#pragma once
// Internal: the stateful cookie value `<kid>.<token>` (22 + 1 + 43 chars).

#include <jeff/token.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace jeff::detail {

inline constexpr std::size_t kKidChars = Base64UrlLength(kKidBytes);      // 22
inline constexpr std::size_t kTokenChars = Base64UrlLength(kTokenBytes);  // 43
inline constexpr std::size_t kSessionCookieChars = kKidChars + 1 + kTokenChars;

struct SessionCookie {
  std::string_view kid;  // 22 canonical base64url characters (a view into the value)
  Token token{};
};

// Strict: exact length, one '.', canonical base64url on both sides.
std::optional<SessionCookie> ParseSessionCookie(std::string_view value) noexcept;

// `<kid>.<base64url(token)>`.
std::string FormatSessionCookie(std::string_view kid, const Token& token);

}  // namespace jeff::detail
