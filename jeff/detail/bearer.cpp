#include <jeff/detail/bearer.hpp>

#include <algorithm>

namespace jeff::detail {
namespace {

std::string_view TrimBlanks(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> BearerToken(std::string_view authorization_header) noexcept {
  const std::string_view value = TrimBlanks(authorization_header);
  constexpr std::string_view kScheme = "bearer";
  const bool is_bearer = value.size() > kScheme.size() &&
                         (value[kScheme.size()] == ' ' || value[kScheme.size()] == '\t') &&
                         std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                                    [](char a, char b) { return a == (b | 0x20); });
  if (!is_bearer) return std::nullopt;
  return TrimBlanks(value.substr(kScheme.size()));
}

}  // namespace jeff::detail
