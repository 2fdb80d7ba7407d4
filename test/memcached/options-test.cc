// MemcachedStore configuration and the checks made before any I/O. No
// server runs here: the port used is free, so a call that did reach the
// network would fail with kStoreUnavailable instead.
#include <doctest/doctest.h>
#include <jeff/stores/memcached/memcached_store.hpp>

#include <stdexcept>
#include <string>

#include "support/server_process.hpp"

using namespace std::chrono_literals;
using jeff::Errc;
using jeff::MemcachedStore;
using jeff::MemcachedStoreOptions;

namespace {

MemcachedStoreOptions Options() {
  MemcachedStoreOptions o;
  o.servers.push_back({"127.0.0.1", jeff::test::FreePort()});
  return o;
}

std::shared_ptr<jeff::Store> FromUrl(const std::string& url) {
  return jeff::MakeMemcachedStore(jeff::ParseStoreUrl(url).value());
}

}  // namespace

TEST_CASE("invalid options are refused at construction") {
  MemcachedStoreOptions o = Options();
  SUBCASE("no servers") { o.servers.clear(); }
  SUBCASE("empty host") { o.servers[0].host.clear(); }
  SUBCASE("zero connect timeout") { o.connect_timeout = 0ms; }
  SUBCASE("zero io timeout") { o.io_timeout = 0ms; }
  SUBCASE("negative retry timeout") { o.retry_timeout = -1s; }
  SUBCASE("zero pool") { o.pool_size = 0; }
  SUBCASE("prefix with a space") { o.key_prefix = "my app:"; }
  SUBCASE("prefix too long") { o.key_prefix = std::string(129, 'p'); }
  CHECK_THROWS_AS(MemcachedStore{o}, std::invalid_argument);
}

TEST_CASE("bad keys, ttls and oversized values fail before any I/O") {
  MemcachedStoreOptions o = Options();
  o.key_prefix = "app:";
  o.max_value_bytes = 100;
  MemcachedStore store(o);
  CHECK(store.Fetch("").error() == Errc::kInvalidArgument);
  CHECK(store.Fetch("has space").error() == Errc::kInvalidArgument);
  CHECK(store.Fetch("tab\there").error() == Errc::kInvalidArgument);
  CHECK(store.Fetch(std::string(247, 'k')).error() == Errc::kInvalidArgument);  // 4 + 247 > 250
  CHECK(store.Erase("new\nline").error() == Errc::kInvalidArgument);
  CHECK(store.CompareAndSwap("k", std::nullopt, "v", 0ms).error() == Errc::kInvalidArgument);
  CHECK(store.CompareAndSwap("k", std::nullopt, "v", -5ms).error() == Errc::kInvalidArgument);
  CHECK(store.CompareAndSwap("k", std::nullopt, std::string(101, 'v'), 1s).error() ==
        Errc::kValueTooLarge);
  // A key that fits reaches the network, where nothing listens.
  CHECK(store.Fetch(std::string(246, 'k')).error() == Errc::kStoreUnavailable);
}

TEST_CASE("a server that is not running fails calls as unavailable, never as a miss") {
  MemcachedStore store(Options());
  for (int i = 0; i < 3; ++i) {
    auto got = store.Fetch("k");
    REQUIRE_FALSE(got.ok());
    CHECK(got.error() == Errc::kStoreUnavailable);
    CHECK(jeff::IsStoreError(got.error()));
    CHECK(store.CompareAndSwap("k", std::nullopt, "v", 1s).error() == Errc::kStoreUnavailable);
    CHECK(store.CompareAndSwap("k", 42, "v", 1s).error() == Errc::kStoreUnavailable);
    CHECK(store.Erase("k").error() == Errc::kStoreUnavailable);
  }
}

TEST_CASE("memcached URLs") {
  SUBCASE("hosts and options") {
    const std::string port = std::to_string(jeff::test::FreePort());
    auto store = FromUrl("memcached://127.0.0.1:" + port + ",localhost?connect_timeout=250ms" +
                         "&io_timeout=1s&retry_timeout=500ms&pool_size=4" +
                         "&pool_wait_timeout=0&prefix=app%3A&max_value_bytes=10");
    REQUIRE(store);
    CHECK(store->CompareAndSwap("k", std::nullopt, std::string(11, 'v'), 1s).error() ==
          Errc::kValueTooLarge);
  }
  SUBCASE("IPv6 literal") { CHECK(FromUrl("memcached://[::1]:11211")); }
  SUBCASE("misconfiguration throws") {
    for (const char* url : {"memcached://", "memcached://h:1?pool_size=0", "memcached://h:1?typo=1",
                            "memcached://h:1?io_timeout=0", "memcached://h:1?connect_timeout=fast",
                            "memcached://user:pw@h:1", "memcached://:pw@h:1", "memcached://h:1/0",
                            "memcached://h:1?prefix=a%20b", "redis://h:1"}) {
      CAPTURE(url);
      auto parsed = jeff::ParseStoreUrl(url);
      if (parsed) CHECK_THROWS_AS(jeff::MakeMemcachedStore(*parsed), std::invalid_argument);
    }
  }
}
