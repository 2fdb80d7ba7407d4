#pragma once
// What a browser sends back: the Cookie request header for a Set-Cookie.

#include <jeff/sessions.hpp>

#include <doctest/doctest.h>

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

}  // namespace jeff::test
