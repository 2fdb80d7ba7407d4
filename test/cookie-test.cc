#include <jeff/cookie.hpp>

#include <doctest/doctest.h>

#include "support/messages.hpp"

#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace {

using jeff::CookieOptions;
using jeff::FindCookie;
using jeff::FindCookies;
using jeff::SameSite;
using std::chrono::seconds;
using Views = std::vector<std::string_view>;

jeff::TimePoint At(std::int64_t unix_seconds) { return jeff::FromUnixMillis(unix_seconds * 1000); }

using jeff::test::Contains;

std::string InvalidMessage(const CookieOptions& options) {
  return jeff::test::InvalidArgumentMessage([&] { jeff::ValidateCookieOptions(options); });
}

}  // namespace

TEST_CASE("FindCookie: what browsers send") {
  const std::string_view header = "theme=dark; jeff_session=abc.def; lang=en";
  CHECK(FindCookie(header, "jeff_session") == "abc.def");
  CHECK(FindCookie(header, "theme") == "dark");
  CHECK(FindCookie(header, "lang") == "en");
  CHECK_FALSE(FindCookie(header, "missing"));
  CHECK_FALSE(FindCookie(header, "jeff"));
  CHECK_FALSE(FindCookie(header, "session"));
  CHECK_FALSE(FindCookie(header, "JEFF_SESSION"));  // names are case-sensitive
  CHECK(FindCookie("a=1", "a") == "1");
  CHECK_FALSE(FindCookie("", "a"));
}

TEST_CASE("FindCookie: what else arrives") {
  SUBCASE("whitespace: spaces and tabs around names and values, none after ';'") {
    CHECK(FindCookie("a=1;b=2", "b") == "2");
    CHECK(FindCookie("  a  =  1  ;\tb\t=\t2\t", "a") == "1");
    CHECK(FindCookie("  a  =  1  ;\tb\t=\t2\t", "b") == "2");
    CHECK(FindCookie("a=1 2", "a") == "1 2");
  }
  SUBCASE("empty values and empty pairs") {
    CHECK(FindCookie("a=; b=2", "a") == "");
    CHECK(FindCookie("a=", "a") == "");
    CHECK(FindCookie(";;; ; a=1;;", "a") == "1");
    CHECK(FindCookie("=; =x; a=1", "a") == "1");
    CHECK_FALSE(FindCookie("=1", ""));
    CHECK_FALSE(FindCookie("a=1", ""));
  }
  SUBCASE("pairs without '=' are nameless values and never match") {
    CHECK_FALSE(FindCookie("jeff_session", "jeff_session"));
    CHECK(FindCookie("jeff_session; jeff_session=v", "jeff_session") == "v");
    CHECK(FindCookie("garbage; a=1", "a") == "1");
  }
  SUBCASE("quoted values lose one pair of quotes") {
    CHECK(FindCookie("a=\"quoted\"", "a") == "quoted");
    CHECK(FindCookie("a=\"\"", "a") == "");
    CHECK(FindCookie("a=\"", "a") == "\"");
    CHECK(FindCookie("a=\"x", "a") == "\"x");
    CHECK(FindCookie("a=\"\"x\"\"", "a") == "\"x\"");
    CHECK(FindCookie("a = \"v\" ", "a") == "v");
  }
  SUBCASE("'=' inside a value belongs to the value") {
    CHECK(FindCookie("a=b=c", "a") == "b=c");
    CHECK(FindCookie("a==", "a") == "=");
  }
  SUBCASE("commas do not separate cookies") {
    CHECK(FindCookie("a=1, b=2", "a") == "1, b=2");
    CHECK_FALSE(FindCookie("a=1, b=2", "b"));
  }
  SUBCASE("NUL and other control bytes are data, not terminators") {
    const std::string header("a=1\0; b=2", 9);
    CHECK(FindCookie(header, "a") == std::string_view("1\0", 2));
    CHECK(FindCookie(header, "b") == "2");
    CHECK(FindCookie(std::string("x\0y=1; a=2", 10), "a") == "2");
    CHECK_FALSE(FindCookie(std::string("a\0=1", 4), "a"));
    CHECK(FindCookie("a=1\r\n; b=2", "a") == "1\r\n");
  }
  SUBCASE("a header far over 4 KiB") {
    std::string header;
    for (int i = 0; i < 1000; ++i)
      header += "c" + std::to_string(i) + "=" + std::string(50, 'v') + "; ";
    header += "jeff_session=last";
    REQUIRE(header.size() > 50000);
    CHECK(FindCookie(header, "jeff_session") == "last");
    CHECK(FindCookie(header, "c999") == std::string(50, 'v'));
    const std::string huge_value = "a=" + std::string(1 << 20, 'x');
    CHECK(FindCookie(huge_value, "a")->size() == (1u << 20));
  }
  SUBCASE("the views point into the header") {
    const std::string header = "a=1; b=2";
    const auto v = FindCookie(header, "b");
    REQUIRE(v);
    CHECK(v->data() == header.data() + 7);
  }
}

TEST_CASE("FindCookies: duplicates in header order, bounded") {
  const std::string_view header = "s=first; other=x; s=second;s=\"third\"; s=";
  CHECK(FindCookies(header, "s") == Views{"first", "second", "third", ""});
  CHECK(FindCookies(header, "s", 2) == Views{"first", "second"});
  CHECK(FindCookies(header, "s", 0).empty());
  CHECK(FindCookies(header, "none").empty());
  CHECK(FindCookies(header, "").empty());
  CHECK(FindCookie(header, "s") == "first");

  std::string many;
  for (int i = 0; i < 10000; ++i) many += "s=" + std::to_string(i) + ";";
  CHECK(FindCookies(many, "s").size() == 8);
  CHECK(FindCookies(many, "s", 100000).size() == 10000);
}

TEST_CASE("FindCookie survives random bytes") {
  std::mt19937 rng(42);
  constexpr char kAlphabet[] = "a=; \t\"\0\xff,s";
  const std::string_view alphabet(kAlphabet, sizeof kAlphabet - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string header(rng() % 64, ' ');
    for (char& c : header) c = alphabet[rng() % alphabet.size()];
    const auto all = FindCookies(header, "s", 1000);
    const auto first = FindCookie(header, "s");
    REQUIRE(first.has_value() == !all.empty());
    if (first) REQUIRE(*first == all.front());
    for (std::string_view v : all) {
      REQUIRE(v.data() >= header.data());
      REQUIRE(v.data() + v.size() <= header.data() + header.size());
    }
  }
}

TEST_CASE("IsCookieValue: RFC 6265 cookie-octets") {
  CHECK(jeff::IsCookieValue(""));
  CHECK(jeff::IsCookieValue("abc.DEF-_0123456789"));
  CHECK(jeff::IsCookieValue("!#$%&'()*+-./:<=>?@[]^_`{|}~"));
  constexpr char kForbidden[] = " \";,\\\x7f\x80\xff\t\r\n";
  for (char c : std::string_view(kForbidden, sizeof kForbidden)) {  // with the NUL
    CAPTURE(static_cast<int>(static_cast<unsigned char>(c)));
    CHECK_FALSE(jeff::IsCookieValue(std::string("a") + c + "b"));
  }
  CHECK_FALSE(jeff::IsCookieValue(std::string_view("a\0b", 3)));
}

TEST_CASE("ValidateCookieOptions") {
  SUBCASE("the defaults are valid") {
    CHECK_NOTHROW(jeff::ValidateCookieOptions(CookieOptions{}));
    const CookieOptions defaults;
    CHECK(defaults.name == "jeff_session");
    CHECK(defaults.path == "/");
    CHECK(defaults.domain.empty());
    CHECK(defaults.secure);
    CHECK(defaults.http_only);
    CHECK(defaults.same_site == SameSite::kLax);
  }
  SUBCASE("names are RFC 6265 tokens") {
    for (std::string_view name : {"", "a b", "a;b", "a=b", "a,b", "a\"b", "a(b", "a/b", "a\tb", "é",
                                  "a\x7f", "a:b", "a@b", "a[b]", "{a}"}) {
      CAPTURE(name);
      CookieOptions o;
      o.name = name;
      CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
    }
    CookieOptions o;
    o.name = std::string("a\0b", 3);
    CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
    o.name = "Session-ID_2!#$%&'*+.^`|~";
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
    o.name = "a b";
    CHECK(Contains(InvalidMessage(o), "token"));
  }
  SUBCASE("__Host- prefix") {
    CookieOptions o;
    o.name = "__Host-session";
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
    o.secure = false;
    CHECK(Contains(InvalidMessage(o), "Secure"));
    o.secure = true;
    o.path = "/app";
    CHECK(Contains(InvalidMessage(o), "Path=/"));
    o.path = "/";
    o.domain = "example.com";
    CHECK(Contains(InvalidMessage(o), "Domain"));
    o.domain.clear();
    o.name = "__host-session";  // browsers match the prefix case-insensitively
    o.secure = false;
    CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
  }
  SUBCASE("__Secure- prefix") {
    CookieOptions o;
    o.name = "__Secure-session";
    o.domain = "example.com";
    o.path = "/app";
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
    o.secure = false;
    CHECK(Contains(InvalidMessage(o), "__Secure-"));
    o.name = "__SECURE-session";
    CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
    o.name = "Secure-session";
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
  }
  SUBCASE("SameSite=None needs Secure") {
    CookieOptions o;
    o.same_site = SameSite::kNone;
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
    o.secure = false;
    CHECK(Contains(InvalidMessage(o), "SameSite=None"));
    o.same_site = SameSite::kStrict;
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));  // plain-HTTP development
  }
  SUBCASE("path") {
    for (std::string_view path :
         {"", "app", "/a;b", "/a\r\nSet-Cookie: x=y", "/a\tb", "/\x7f", "/é"}) {
      CAPTURE(path);
      CookieOptions o;
      o.path = path;
      CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
    }
    CookieOptions o;
    o.path = std::string("/a\0b", 4);
    CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
    o.path = "/app/v1 beta,x=y";
    CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
  }
  SUBCASE("domain") {
    for (std::string_view domain :
         {"a;b", "a b", "a\tb", "example.com\r\n", "a,b", "bücher.de", ".", "..", "a\x01"}) {
      CAPTURE(domain);
      CookieOptions o;
      o.domain = domain;
      CHECK_THROWS_AS(jeff::ValidateCookieOptions(o), std::invalid_argument);
    }
    for (std::string_view domain :
         {"example.com", ".example.com", "xn--bcher-kva.de", "localhost"}) {
      CAPTURE(domain);
      CookieOptions o;
      o.domain = domain;
      CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
    }
  }
  SUBCASE("messages say what is wrong") {
    CookieOptions o;
    o.path = "relative";
    CHECK(Contains(InvalidMessage(o), "path must start with '/'"));
  }
}

TEST_CASE("FormatHttpDate: IMF-fixdate") {
  CHECK(jeff::FormatHttpDate(At(784111777)) ==
        "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  CHECK(jeff::FormatHttpDate(At(0)) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(jeff::FormatHttpDate(At(1893456000)) == "Tue, 01 Jan 2030 00:00:00 GMT");
  CHECK(jeff::FormatHttpDate(At(951782400)) == "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK(jeff::FormatHttpDate(At(4133980799)) == "Fri, 31 Dec 2100 23:59:59 GMT");
  CHECK(jeff::FormatHttpDate(At(-1)) == "Wed, 31 Dec 1969 23:59:59 GMT");
  // Sub-second parts are dropped, not rounded.
  CHECK(jeff::FormatHttpDate(jeff::FromUnixMillis(1999)) == "Thu, 01 Jan 1970 00:00:01 GMT");
  CHECK(jeff::FormatHttpDate(jeff::FromUnixMillis(-1)) == "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK(jeff::FormatHttpDate(jeff::TimePoint::max()).size() == 29);
  CHECK(jeff::FormatHttpDate(jeff::TimePoint::min()).size() == 29);
  if constexpr (std::is_same_v<jeff::TimePoint::duration, std::chrono::nanoseconds>) {
    CHECK(jeff::FormatHttpDate(jeff::TimePoint::max()) == "Fri, 11 Apr 2262 23:47:16 GMT");
    CHECK(jeff::FormatHttpDate(jeff::TimePoint::min()) == "Tue, 21 Sep 1677 00:12:43 GMT");
  }
  // Every day of a leap cycle has the fixed shape.
  for (std::int64_t day = 0; day < 4 * 366; ++day) {
    const std::string s = jeff::FormatHttpDate(At(day * 86400 + 45296));
    REQUIRE(s.size() == 29);
    REQUIRE(s.substr(16) == " 12:34:56 GMT");
  }
}

TEST_CASE("BuildSetCookie") {
  const jeff::TimePoint now = At(1893456000);  // 2030-01-01T00:00:00Z
  SUBCASE("defaults") {
    CHECK(jeff::BuildSetCookie(CookieOptions{}, "jeff_session", "kid.tok", seconds(30 * 86400),
                               now) ==
          "jeff_session=kid.tok; Path=/; Max-Age=2592000; Expires=Thu, 31 Jan 2030 00:00:00 GMT; "
          "Secure; HttpOnly; SameSite=Lax");
  }
  SUBCASE("every attribute") {
    CookieOptions o;
    o.domain = "example.com";
    o.path = "/app";
    o.same_site = SameSite::kStrict;
    CHECK(jeff::BuildSetCookie(o, "s", "v", seconds(60), now) ==
          "s=v; Domain=example.com; Path=/app; Max-Age=60; Expires=Tue, 01 Jan 2030 00:01:00 GMT; "
          "Secure; HttpOnly; SameSite=Strict");
    o.same_site = SameSite::kNone;
    o.http_only = false;
    CHECK(jeff::BuildSetCookie(o, "s", "v", seconds(60), now) ==
          "s=v; Domain=example.com; Path=/app; Max-Age=60; Expires=Tue, 01 Jan 2030 00:01:00 GMT; "
          "Secure; SameSite=None");
    o.same_site = SameSite::kLax;
    o.secure = false;
    CHECK(jeff::BuildSetCookie(o, "s", "v", seconds(60), now) ==
          "s=v; Domain=example.com; Path=/app; Max-Age=60; Expires=Tue, 01 Jan 2030 00:01:00 GMT; "
          "SameSite=Lax");
  }
  SUBCASE("a browser-session cookie has neither Max-Age nor Expires") {
    CHECK(jeff::BuildSetCookie(CookieOptions{}, "s", "v", seconds(0), now) ==
          "s=v; Path=/; Secure; HttpOnly; SameSite=Lax");
    CHECK(jeff::BuildSetCookie(CookieOptions{}, "s", "v", seconds(-5), now) ==
          "s=v; Path=/; Secure; HttpOnly; SameSite=Lax");
  }
  SUBCASE("the name given wins over options.name (for chunked cookies)") {
    CHECK(jeff::BuildSetCookie(CookieOptions{}, "jeff_session.1", "", seconds(0), now)
              .starts_with("jeff_session.1=; "));
  }
  SUBCASE("huge max_age does not overflow: Expires is clamped to the last representable second") {
    using std::chrono::floor;
    const seconds last_s = floor<seconds>(jeff::TimePoint::max().time_since_epoch());
    const std::string last = jeff::FormatHttpDate(jeff::TimePoint(last_s));
    if constexpr (std::is_same_v<jeff::TimePoint::duration, std::chrono::nanoseconds>) {
      CHECK(last == "Fri, 11 Apr 2262 23:47:16 GMT");  // libstdc++: int64 nanoseconds
    }
    const seconds to_last = last_s - floor<seconds>(now.time_since_epoch());
    const auto expires = [&](seconds max_age) {
      const std::string c = jeff::BuildSetCookie(CookieOptions{}, "s", "v", max_age, now);
      const auto at = c.find("; Expires=");
      REQUIRE(at != std::string::npos);
      CHECK(c.starts_with("s=v; Path=/; Max-Age=" + std::to_string(max_age.count()) + "; Expires="));
      CHECK(c.ends_with(" GMT; Secure; HttpOnly; SameSite=Lax"));
      return c.substr(at + 10, 29);
    };
    CHECK(expires(to_last - seconds(1)) ==
          jeff::FormatHttpDate(jeff::TimePoint(last_s - seconds(1))));  // exact below the limit
    CHECK(expires(to_last) == last);
    CHECK(expires(to_last + seconds(1)) == last);
    CHECK(expires(seconds::max() / 2) == last);
    CHECK(expires(seconds::max()) == last);
  }
}

TEST_CASE("BuildExpiredCookie") {
  CHECK(
      jeff::BuildExpiredCookie(CookieOptions{}, "jeff_session") ==
      "jeff_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; "
      "SameSite=Lax");
  CookieOptions o;
  o.domain = ".example.com";
  o.path = "/app";
  o.http_only = false;
  o.same_site = SameSite::kStrict;
  // Same scope as the cookie it deletes, or the browser keeps the original.
  CHECK(jeff::BuildExpiredCookie(o, "s") ==
        "s=; Domain=.example.com; Path=/app; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
        "Secure; SameSite=Strict");
}

TEST_CASE("Partitioned (CHIPS): requires Secure, carried by every Set-Cookie") {
  const jeff::TimePoint now = At(1893456000);  // 2030-01-01T00:00:00Z
  CookieOptions o;
  CHECK_FALSE(o.partitioned);
  o.partitioned = true;
  o.same_site = SameSite::kNone;
  CHECK_NOTHROW(jeff::ValidateCookieOptions(o));
  o.same_site = SameSite::kLax;  // refused for Partitioned itself, not for SameSite=None
  o.secure = false;
  CHECK(Contains(InvalidMessage(o), "Partitioned cookie (CHIPS) requires Secure"));
  o.secure = true;
  CHECK(jeff::BuildSetCookie(o, "s", "v", seconds(60), now) ==
        "s=v; Path=/; Max-Age=60; Expires=Tue, 01 Jan 2030 00:01:00 GMT; Secure; HttpOnly; "
        "SameSite=Lax; Partitioned");
  CHECK(jeff::BuildSetCookie(o, "s", "v", seconds(0), now) ==
        "s=v; Path=/; Secure; HttpOnly; SameSite=Lax; Partitioned");
  // The deletion needs the same partition, or the browser keeps the cookie.
  CHECK(jeff::BuildExpiredCookie(o, "s") ==
        "s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; "
        "SameSite=Lax; Partitioned");
  o.partitioned = false;
  CHECK_FALSE(Contains(jeff::BuildSetCookie(o, "s", "v", seconds(60), now), "Partitioned"));
  CHECK_FALSE(Contains(jeff::BuildExpiredCookie(o, "s"), "Partitioned"));
}
