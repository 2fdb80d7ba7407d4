#pragma once
// What a browser sends back: the Cookie request header for a Set-Cookie,
// and what it reads from a Set-Cookie's attributes.

#include <jeff/sessions.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace jeff::test {

// The `name=value` part of a Set-Cookie value, as a Cookie header.
inline std::string CookieHeaderOf(std::string_view set_cookie) {
  return std::string(set_cookie.substr(0, set_cookie.find(';')));
}

// The Cookie header for the one session cookie `issued` sets.
inline std::string CookieOf(const Issued& issued) {
  REQUIRE(issued.set_cookie.size() == 1);
  return CookieHeaderOf(issued.set_cookie.front());
}

// The value of attribute `name` (case-insensitive) in a Set-Cookie value;
// std::nullopt when it is absent.
inline std::optional<std::string> CookieAttribute(std::string_view set_cookie, std::string_view name) {
  std::size_t at = set_cookie.find(';');
  while (at != std::string_view::npos) {
    std::size_t next = set_cookie.find(';', at + 1);
    std::string_view part = set_cookie.substr(at + 1, next == std::string_view::npos ? next : next - at - 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const std::string_view attribute = part.substr(0, part.find('='));
    if (std::equal(attribute.begin(), attribute.end(), name.begin(), name.end(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return std::string(part.size() > attribute.size() ? part.substr(attribute.size() + 1) : "");
    }
    at = next;
  }
  return std::nullopt;
}

}  // namespace jeff::test
