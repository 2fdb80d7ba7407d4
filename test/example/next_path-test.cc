#include <doctest/doctest.h>

#include "next_path.hpp"

using example::LoginPathFor;
using example::SafeNextPath;

TEST_CASE("SafeNextPath keeps paths of this site") {
  CHECK(SafeNextPath("/") == "/");
  CHECK(SafeNextPath("/sessions") == "/sessions");
  CHECK(SafeNextPath("/a/b?c=d&e=%2F%2Fx") == "/a/b?c=d&e=%2F%2Fx");
  CHECK(SafeNextPath("/%2F%2Fevil.com") == "/%2F%2Fevil.com");  // a path here, not a host
}

TEST_CASE("SafeNextPath refuses anything a browser could take to another site") {
  for (const char* attack : {"//evil.com", "//evil.com/account", "/\\evil.com", "\\\\evil.com",
                             "https://evil.com", "http:evil.com", "evil.com", "javascript:alert(1)",
                             "/\t/evil.com", "/\n/evil.com", "/\r/evil.com", " /account",
                             "/acc\\ount", "///evil.com", ""}) {
    CAPTURE(attack);
    CHECK_FALSE(SafeNextPath(attack).has_value());
  }
  CHECK_FALSE(SafeNextPath("/" + std::string(2000, 'a')).has_value());
}

TEST_CASE("LoginPathFor carries the page asked for, percent-encoded") {
  CHECK(LoginPathFor("/") == "/login");
  CHECK(LoginPathFor("/account") == "/login?next=/account");
  CHECK(LoginPathFor("/a&b=c%") == "/login?next=/a%26b%3Dc%25");
  CHECK(LoginPathFor("/a b") == "/login");  // what SafeNextPath refuses is dropped
  CHECK(LoginPathFor("/account", true) == "/login?signed_out=1&next=/account");
  CHECK(LoginPathFor("/", true) == "/login?signed_out=1");
  CHECK(LoginPathFor("//evil.com") == "/login");
}
