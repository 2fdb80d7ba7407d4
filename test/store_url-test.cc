#include <jeff/store_url.hpp>

#include <doctest/doctest.h>

#include "support/messages.hpp"

#include <random>
#include <stdexcept>
#include <string>

namespace {

using jeff::ParseStoreUrl;
using jeff::StoreUrl;
using Host = jeff::StoreUrl::Host;
using std::chrono::milliseconds;

StoreUrl Parse(std::string_view url) {
  auto parsed = ParseStoreUrl(url);
  REQUIRE_MESSAGE(parsed.ok(), url);
  return std::move(parsed).value();
}

using jeff::test::Contains;
using jeff::test::InvalidArgumentMessage;

}  // namespace

TEST_CASE("memory://") {
  const StoreUrl url = Parse("memory://");
  CHECK(url.scheme == "memory");
  CHECK(url.hosts.empty());
  CHECK(url.username.empty());
  CHECK_FALSE(url.password);
  CHECK(url.path.empty());
  CHECK(url.query.empty());
  CHECK(Parse("MEMORY://").scheme == "memory");
  CHECK(Parse("memory://?prefix=app:").Param("prefix") == "app:");
}

TEST_CASE("redis://") {
  SUBCASE("host and port") {
    const StoreUrl url = Parse("redis://localhost:6379");
    CHECK(url.scheme == "redis");
    CHECK(url.hosts == std::vector<Host>{{"localhost", 6379}});
    CHECK_FALSE(url.password);
    CHECK(url.path.empty());
  }
  SUBCASE("no port: the store picks its default") {
    CHECK(Parse("redis://cache.internal").hosts == std::vector<Host>{{"cache.internal", 0}});
  }
  SUBCASE("password only") {
    const StoreUrl url = Parse("redis://:s3cret@10.0.0.5:6380/2");
    CHECK(url.username.empty());
    CHECK(url.password == "s3cret");
    CHECK(url.hosts == std::vector<Host>{{"10.0.0.5", 6380}});
    CHECK(url.path == "2");
  }
  SUBCASE("user and password (Redis 6 ACL)") {
    const StoreUrl url = Parse("redis://app:pw@h:1/0");
    CHECK(url.username == "app");
    CHECK(url.password == "pw");
    CHECK(url.path == "0");
  }
  SUBCASE("user without password, empty password") {
    const StoreUrl user = Parse("redis://app@h:1");
    CHECK(user.username == "app");
    CHECK_FALSE(user.password);
    const StoreUrl empty = Parse("redis://app:@h:1");
    CHECK(empty.password == "");
  }
  SUBCASE("percent-encoded credentials") {
    const StoreUrl url = Parse("redis://us%40er:p%3Aa%2Fs%23s%40%25@h:1");
    CHECK(url.username == "us@er");
    CHECK(url.password == "p:a/s#s@%");
    CHECK(Parse("redis://:%C3%A9@h").password == "\xc3\xa9");
  }
  SUBCASE("trailing slash, options") {
    const StoreUrl url = Parse("redis://h:6379/?timeout=250ms&pool_size=8&prefix=app%3A");
    CHECK(url.path.empty());
    CHECK(url.query == std::vector<std::pair<std::string, std::string>>{
                           {"timeout", "250ms"}, {"pool_size", "8"}, {"prefix", "app:"}});
    CHECK(Parse("redis://h:6379?timeout=1s").Param("timeout") == "1s");
  }
  SUBCASE("IPv6 literals") {
    CHECK(Parse("redis://[::1]:6379").hosts == std::vector<Host>{{"::1", 6379}});
    CHECK(Parse("redis://[::1]").hosts == std::vector<Host>{{"::1", 0}});
    CHECK(Parse("redis://:pw@[2001:db8::7]:7000/1").hosts ==
          std::vector<Host>{{"2001:db8::7", 7000}});
    CHECK(Parse("redis://[::ffff:192.0.2.1]:1").hosts ==
          std::vector<Host>{{"::ffff:192.0.2.1", 1}});
  }
  SUBCASE("port bounds") {
    CHECK(Parse("redis://h:1").hosts[0].port == 1);
    CHECK(Parse("redis://h:65535").hosts[0].port == 65535);
    CHECK(Parse("redis://h:00080").hosts[0].port == 80);
  }
}

TEST_CASE("multi-host schemes") {
  const StoreUrl cluster = Parse("redis+cluster://h1:7000,h2:7001,[::1]:7002?timeout=2s");
  CHECK(cluster.scheme == "redis+cluster");
  CHECK(cluster.hosts == std::vector<Host>{{"h1", 7000}, {"h2", 7001}, {"::1", 7002}});
  CHECK(cluster.Param("timeout") == "2s");

  const StoreUrl mc = Parse("memcached://m1:11211,m2:11212");
  CHECK(mc.scheme == "memcached");
  CHECK(mc.hosts == std::vector<Host>{{"m1", 11211}, {"m2", 11212}});
  CHECK(Parse("memcached://m1,m2:1").hosts == std::vector<Host>{{"m1", 0}, {"m2", 1}});
}

TEST_CASE("invalid URLs are kInvalidArgument") {
  for (std::string_view url : {
           "",
           "redis",
           "redis:",
           "redis:/h:1",
           "://h:1",
           "1redis://h",
           "re dis://h",
           "re_dis://h",
           "redis://h:0",
           "redis://h:65536",
           "redis://h:99999999999999999999",
           "redis://h:-1",
           "redis://h:+1",
           "redis://h:",
           "redis://h:port",
           "redis://h:1:2",
           "redis://:",
           "redis://:1",
           "redis://h:1,",
           "redis://,h:1",
           "redis://h1:1,,h2:2",
           "redis://[::1",
           "redis://[::1]x",
           "redis://[::1]:",
           "redis://[]:1",
           "redis://[zz::1]:1",
           "redis://[127.0.0.1]:1",
           "redis://[fe80::1%25eth0]:1",
           "redis://::1:6379",
           "redis://h h:1",
           "redis://h\t:1",
           "redis://h:1 ",
           " redis://h:1",
           "redis://h:1/\n",
           "redis://hé:1",
           "redis://h%:1",
           "redis://h%4:1",
           "redis://h%zz:1",
           "redis://h%2F:1",
           "redis://h%00:1",
           "redis://h:1#frag",
           "redis://:pa#ss@h:1",
           "redis://:p@ss@h:1",
           "redis://:p ss@h:1",
           "redis://:pw@",
           "redis://user@",
           "redis://:%00@h",
           "redis://:%@h",
           "redis://h:1/%zz",
           "redis://h:1/a b",
           "redis://h:1?&",
           "redis://h:1?a=1&",
           "redis://h:1?=1",
           "redis://h:1?a=1&&b=2",
           "redis://h:1?a=%",
           "redis://h:1?a=%00",
           "redis://h:1?a=b=c",
           "redis://h:1?a=\x7f",
           "redis://h{1}:1",
           "redis://h!:1",
       }) {
    CAPTURE(url);
    const auto parsed = ParseStoreUrl(url);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.error() == jeff::Errc::kInvalidArgument);
  }
  CHECK_FALSE(ParseStoreUrl(std::string_view("redis://h\0:1", 12)).ok());
}

TEST_CASE("percent-decoding and query details") {
  const StoreUrl url = Parse("redis://h/a%2Fb?pre%66ix=x%20y&flag&prefix=z&empty=&a+b=c+d");
  CHECK(url.path == "a/b");
  CHECK(url.query.size() == 5);
  CHECK(url.Param("prefix") == "z");  // the last one wins
  CHECK(url.Param("flag") == "");
  CHECK(url.Param("empty") == "");
  CHECK(url.Param("a+b") == "c+d");  // '+' is not a space outside HTML forms
  CHECK_FALSE(url.Param("missing"));
  CHECK_FALSE(url.Param("PREFIX"));
  CHECK(Parse("redis://h?").query.empty());
  CHECK(Parse("redis://h?a=%3D%26").Param("a") == "=&");
  CHECK(Parse("redis://h?p=a/b?c:d@e").Param("p") == "a/b?c:d@e");
  CHECK(Parse("redis://h%2Dx").hosts[0].host == "h-x");
}

TEST_CASE("IntParam") {
  const StoreUrl url =
      Parse("redis://h?pool=8&neg=-3&junk=8x&empty=&big=99999999999999999999&sp=%208");
  CHECK(url.IntParam("pool", 4, 1, 64) == 8);
  CHECK(url.IntParam("missing", 4, 1, 64) == 4);
  CHECK(url.IntParam("neg", 0, -10, 10) == -3);
  CHECK(url.IntParam("pool", 0, 8, 8) == 8);
  CHECK_THROWS_AS(url.IntParam("pool", 4, 1, 7), std::invalid_argument);
  CHECK_THROWS_AS(url.IntParam("pool", 4, 9, 64), std::invalid_argument);
  for (std::string_view name : {"junk", "empty", "big", "sp"}) {
    CAPTURE(name);
    const std::string message = InvalidArgumentMessage([&] { (void)url.IntParam(name, 0, 0, 100); });
    CHECK(Contains(message, "?" + std::string(name) + "="));
    CHECK(Contains(message, "[0, 100]"));
  }
}

TEST_CASE("DurationParam") {
  const StoreUrl url = Parse(
      "redis://"
      "h?a=250ms&b=2s&c=250&d=0&e=1.5s&f=-1s&g=5m&h=ms&i=9223372036854775807s&j=&k=1S&l=%201s");
  CHECK(url.DurationParam("a", milliseconds(1)) == milliseconds(250));
  CHECK(url.DurationParam("b", milliseconds(1)) == milliseconds(2000));
  CHECK(url.DurationParam("c", milliseconds(1)) == milliseconds(250));
  CHECK(url.DurationParam("d", milliseconds(1)) == milliseconds(0));
  CHECK(url.DurationParam("missing", milliseconds(7)) == milliseconds(7));
  for (std::string_view name : {"e", "f", "g", "h", "i", "j", "k", "l"}) {
    CAPTURE(name);
    const std::string message =
        InvalidArgumentMessage([&] { (void)url.DurationParam(name, milliseconds(1)); });
    CHECK(Contains(message, "?" + std::string(name) + "="));
  }
  // A lower bound, named as the URL spells the option.
  CHECK(url.DurationParam("b", milliseconds(1), milliseconds(1)) == milliseconds(2000));
  const std::string zero =
      InvalidArgumentMessage([&] { (void)url.DurationParam("d", milliseconds(1), milliseconds(1)); });
  CHECK(Contains(zero, "store URL option ?d=0: expected a duration of at least 1ms"));
}

TEST_CASE("ParseStoreUrl says why a URL is invalid, never echoing a password") {
  auto why = [](std::string_view url) {
    const auto parsed = ParseStoreUrl(url);
    REQUIRE_FALSE(parsed.ok());
    return jeff::ErrorDetail(parsed.error());
  };
  CHECK(why("redis://h:70000") == "port 70000 is out of range (1-65535)");
  CHECK(why("redis://h:0/1") == "port 0 is out of range (1-65535)");
  CHECK(why("redis://h:x") == "the port is not a number");
  CHECK(why("redis") == "expected scheme://...");
  CHECK(why("redis://h/%zz") == "invalid path (bad percent-encoding or character)");
  CHECK(Contains(why("redis://:se%zzcret@h"), "invalid password"));
  // A password with an unencoded '@' or '/': its pieces are not quoted.
  for (std::string_view url : {"redis://:p@Zq7@h:1", "redis://:pa/Zq7@h:1", "redis://:99999/Zq7@h"}) {
    CAPTURE(url);
    const std::string reason = why(url);
    CHECK_FALSE(reason.empty());
    CHECK_FALSE(Contains(reason, "Zq7"));
    CHECK_FALSE(Contains(reason, "99999"));
  }
  CHECK(ParseStoreUrl("redis://h:6379").ok());
}

TEST_CASE("RequireKnownParams") {
  const StoreUrl url = Parse("redis://h?timeout=1s&pool_size=2&prefx=oops");
  CHECK_NOTHROW(url.RequireKnownParams({"timeout", "pool_size", "prefx"}));
  const std::string message = InvalidArgumentMessage([&] {
    url.RequireKnownParams({"timeout", "pool_size", "prefix"});
  });
  CHECK(Contains(message, "'prefx'"));
  CHECK(Contains(message, "prefix"));
  CHECK_NOTHROW(Parse("memory://").RequireKnownParams({}));
  CHECK_THROWS_AS(Parse("memory://?a").RequireKnownParams({}), std::invalid_argument);
}

TEST_CASE("RedactStoreUrl") {
  CHECK(jeff::RedactStoreUrl("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0");
  CHECK(jeff::RedactStoreUrl("redis://app:s3cret@h:6379") == "redis://app:***@h:6379");
  CHECK(jeff::RedactStoreUrl("redis://app@h:6379") == "redis://app@h:6379");
  CHECK(jeff::RedactStoreUrl("redis://app:@h") == "redis://app:***@h");
  CHECK(jeff::RedactStoreUrl("redis://h:6379/0?timeout=1s") == "redis://h:6379/0?timeout=1s");
  CHECK(jeff::RedactStoreUrl("memory://") == "memory://");
  CHECK(jeff::RedactStoreUrl("") == "");
  CHECK(jeff::RedactStoreUrl("not a url") == "not a url");
  CHECK(jeff::RedactStoreUrl("redis+cluster://:pw@h1:1,h2:2") == "redis+cluster://:***@h1:1,h2:2");
  CHECK(jeff::RedactStoreUrl("redis://h?password=x&timeout=1s&token=y") ==
        "redis://h?password=***&timeout=1s&token=***");
  CHECK(jeff::RedactStoreUrl("redis://:a@h?Password=b") == "redis://:***@h?Password=***");
  SUBCASE("malformed URLs still hide the password") {
    CHECK(jeff::RedactStoreUrl("redis://:p@ss@h:1") == "redis://:***@h:1");
    CHECK(jeff::RedactStoreUrl("redis://:pa/ss@h:1") == "redis://:***@h:1");
    CHECK(jeff::RedactStoreUrl("redis://:pa?ss@h:1") == "redis://:***@h:1");
    CHECK(jeff::RedactStoreUrl("redis://:pa#ss@h:1") == "redis://:***@h:1");
    CHECK(jeff::RedactStoreUrl("redis://u:p w@h:99999") == "redis://u:***@h:99999");
  }
}

TEST_CASE("RedactStoreUrl reads libpq key=value connection strings as libpq does") {
  CHECK(jeff::RedactStoreUrl("host=h password=s3cret dbname=app") == "host=h password=*** dbname=app");
  CHECK(jeff::RedactStoreUrl("host=h password = s3cret") == "host=h password = ***");
  CHECK(jeff::RedactStoreUrl("password='s3 cr\\'et' user=u") == "password=*** user=u");
  // An unterminated quote: libpq would read the rest as the password.
  CHECK(jeff::RedactStoreUrl("password='s3cret user=u") == "password=***");
  CHECK(jeff::RedactStoreUrl("host=h user=u") == "host=h user=u");
  CHECK(jeff::RedactStoreUrl("host=h password=") == "host=h password=***");
}

TEST_CASE("RedactStoreMessage hides a URL's secrets wherever a message quotes them") {
  const std::string url = "postgres://app:Sup3r%2Fsecret@db:5432/app?sslpassword=kp";
  // The URL itself, the raw password, the decoded one, a secret option.
  CHECK(jeff::RedactStoreMessage("bad URI: \"" + url + "\"", url) ==
        "bad URI: \"postgres://app:***@db:5432/app?sslpassword=***\"");
  CHECK(jeff::RedactStoreMessage("token \"Sup3r%2Fsecret\"", url) == "token \"***\"");
  CHECK(jeff::RedactStoreMessage("token Sup3r/secret here", url) == "token *** here");
  CHECK(jeff::RedactStoreMessage("option \"kp\"", url) == "option \"***\"");
  // A quoted piece of a password is hidden too; other quotes are kept.
  CHECK(jeff::RedactStoreMessage("after \"secret\" near \"sslmdoe\"", url) ==
        "after \"***\" near \"sslmdoe\"");
  // key=value strings and unparsable URLs alike.
  CHECK(jeff::RedactStoreMessage("value \"pw%zz\"", "host=h password=pw%zz") == "value \"***\"");
  CHECK(jeff::RedactStoreMessage("token: \"S3cret%\"", "postgres://u:S3cret%@h/db") == "token: \"***\"");
  // A short password is hidden where quoted, not in every word.
  CHECK(jeff::RedactStoreMessage("at \"pw\": pwned", "redis://:pw@h") == "at \"***\": pwned");
  CHECK(jeff::RedactStoreMessage("nothing secret", "redis://h:1") == "nothing secret");
  CHECK(jeff::RedactStoreMessage("a \"quote", "redis://:pw@h") == "a \"quote");
}

TEST_CASE("hostile URLs never crash") {
  std::mt19937 rng(7);
  constexpr char kAlphabet[] = "redis:/@[]%,?&=#0123456789aZ\0 \xff+.-";
  const std::string_view alphabet(kAlphabet, sizeof kAlphabet - 1);
  for (int i = 0; i < 50000; ++i) {
    std::string url = i % 2 == 0 ? "redis://" : "";
    for (std::size_t n = rng() % 40; n > 0; --n) url.push_back(alphabet[rng() % alphabet.size()]);
    const auto parsed = ParseStoreUrl(url);
    if (!parsed.ok()) REQUIRE(parsed.error() == jeff::Errc::kInvalidArgument);
    const std::string redacted = jeff::RedactStoreUrl(url);
    if (parsed.ok() && parsed->password) REQUIRE(redacted.find(":***@") != std::string::npos);
  }
  const std::string long_url = "redis://" + std::string(1 << 20, 'h') + ":1";
  CHECK(ParseStoreUrl(long_url).ok());
  std::string many_hosts = "memcached://h:1";
  for (int i = 0; i < 10000; ++i) many_hosts += ",h:1";
  CHECK(Parse(many_hosts).hosts.size() == 10001);
}
