// MakeRedisStore / OpenStore: redis:// and redis+cluster:// URLs onto
// RedisStoreOptions. No server needed (the store does not connect).

#include <doctest/doctest.h>
#include <jeff/store_url.hpp>
#include <jeff/stores/open_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <stdexcept>

namespace jeff {
namespace {

using std::chrono::milliseconds;

RedisStoreOptions OptionsOf(std::string_view url) {
  auto store = OpenStore(url);
  auto* redis = dynamic_cast<RedisStore*>(store.get());
  REQUIRE(redis != nullptr);
  return redis->options();
}

TEST_CASE("redis:// maps host, port, db and credentials") {
  RedisStoreOptions o = OptionsOf("redis://cache.internal");
  REQUIRE(o.hosts.size() == 1);
  CHECK(o.hosts[0].host == "cache.internal");
  CHECK(o.hosts[0].port == 6379);
  CHECK_FALSE(o.cluster);
  CHECK(o.db == 0);
  CHECK(o.password.empty());
  CHECK(o.key_prefix.empty());

  o = OptionsOf("redis://:p%40ss@127.0.0.1:6380/2");
  CHECK(o.hosts[0].port == 6380);
  CHECK(o.db == 2);
  CHECK(o.username.empty());
  CHECK(o.password == "p@ss");

  o = OptionsOf("redis://alice:pw@[::1]:7000");
  CHECK(o.hosts[0].host == "::1");
  CHECK(o.username == "alice");
  CHECK(o.password == "pw");
}

TEST_CASE("query options set timeouts, pool and prefix") {
  RedisStoreOptions o = OptionsOf(
      "redis://h:1/0?connect_timeout=250ms&timeout=2s&pool_size=32&pool_timeout=50"
      "&keepalive=30&reconnect_min=10ms&reconnect_max=5s&max_value_bytes=4096&prefix=app%3A");
  CHECK(o.connect_timeout == milliseconds(250));
  CHECK(o.command_timeout == milliseconds(2000));
  CHECK(o.pool_size == 32);
  CHECK(o.pool_timeout == milliseconds(50));
  CHECK(o.keepalive == std::chrono::seconds(30));
  CHECK(o.reconnect_backoff_min == milliseconds(10));
  CHECK(o.reconnect_backoff_max == milliseconds(5000));
  CHECK(o.max_value_bytes == 4096);
  CHECK(o.key_prefix == "app:");

  RedisStoreOptions defaults;
  o = OptionsOf("redis://h");
  CHECK(o.connect_timeout == defaults.connect_timeout);
  CHECK(o.command_timeout == defaults.command_timeout);
  CHECK(o.pool_size == defaults.pool_size);
  CHECK(o.max_redirects == defaults.max_redirects);
}

TEST_CASE("redis+cluster:// takes several seeds") {
  RedisStoreOptions o = OptionsOf("redis+cluster://a:7000,b,c:7002?max_redirects=3");
  CHECK(o.cluster);
  REQUIRE(o.hosts.size() == 3);
  CHECK(o.hosts[0].host == "a");
  CHECK(o.hosts[1].port == 6379);
  CHECK(o.hosts[2].port == 7002);
  CHECK(o.max_redirects == 3);
}

TEST_CASE("rediss:// and rediss+cluster:// turn TLS on, with its options") {
  RedisStoreOptions o = OptionsOf("rediss://:pw@cache.example.com:6380");
  CHECK(o.tls.enabled);
  CHECK(o.tls.ca_file.empty());  // the system trust store
  CHECK_FALSE(o.tls.insecure_skip_verify);
  CHECK(o.hosts[0].port == 6380);
  CHECK_FALSE(OptionsOf("redis://h").tls.enabled);

  o = OptionsOf("rediss+cluster://a:7000,b:7001?ca_dir=/etc/ssl/certs&server_name=redis.internal"
                "&insecure_skip_verify=true");
  CHECK(o.cluster);
  CHECK(o.tls.enabled);
  CHECK(o.tls.ca_dir == "/etc/ssl/certs");
  CHECK(o.tls.server_name == "redis.internal");
  CHECK(o.tls.insecure_skip_verify);
}

TEST_CASE("redis-sentinel:// names sentinels, the master, and two sets of credentials") {
  RedisStoreOptions o = OptionsOf(
      "redis-sentinel://app:data-pw@s1,s2:26380,s3/mymaster/2?sentinel_username=watch"
      "&sentinel_password=sentinel-pw&wait_replicas=1&wait_timeout=150ms");
  CHECK_FALSE(o.cluster);
  CHECK_FALSE(o.tls.enabled);
  CHECK(o.sentinel_master == "mymaster");
  REQUIRE(o.hosts.size() == 3);
  CHECK(o.hosts[0].port == 26379);
  CHECK(o.hosts[1].port == 26380);
  CHECK(o.db == 2);
  CHECK(o.username == "app");
  CHECK(o.password == "data-pw");
  CHECK(o.sentinel_username == "watch");
  CHECK(o.sentinel_password == "sentinel-pw");
  CHECK(o.wait_replicas == 1);
  CHECK(o.wait_timeout == milliseconds(150));

  o = OptionsOf("rediss-sentinel://s1/cache?ca_file=/etc/ssl/certs/ca-certificates.crt");
  CHECK(o.tls.enabled);
  CHECK(o.sentinel_master == "cache");
  CHECK(o.db == 0);
  CHECK(o.sentinel_password.empty());

  CHECK(RedactStoreUrl("redis-sentinel://s1/m?sentinel_password=hunter2") ==
        "redis-sentinel://s1/m?sentinel_password=***");
}

TEST_CASE("misconfigured URLs throw std::invalid_argument at start-up") {
  for (const char* url : {
           "redis://",                              // no host
           "redis://a:1,b:2",                       // several hosts without cluster
           "redis://h/x",                           // db not a number
           "redis://h/-1",                          // negative db
           "redis://h/1/2",                         // path with more than a db
           "redis+cluster://h/1",                   // db on a cluster
           "redis://h?tiemout=1s",                  // unknown option
           "redis://h?timeout=0",                   // no timeout at all
           "redis://h?connect_timeout=0ms",         // same for connect
           "redis://h?timeout=fast",                // not a duration
           "redis://h?pool_size=-1",                // out of range
           "redis://h?reconnect_min=5s&reconnect_max=1s",
           "redis://alice@h",                       // user without password
           "redis+cluster://h?prefix=%7Bapp%7D:",   // hash tag in a cluster prefix
           "redis://h?ca_file=/etc/ssl/ca.pem",     // TLS option without TLS
           "rediss://h?ca_file=/nonexistent.pem",   // unreadable CA file
           "rediss://h?cert_file=/etc/ssl/c.pem",   // certificate without key
           "rediss://h?insecure_skip_verify=maybe", // not a boolean
           "redis+sentinal://h/m",                  // unknown scheme
           "redis-sentinel://s1",                   // no master name
           "redis-sentinel://s1/m/x",               // db not a number
           "redis://h?sentinel_password=x",         // sentinel credentials without sentinel
           "redis-sentinel://s1/m?sentinel_username=u",  // user without password
           "redis://h?wait_replicas=1&wait_timeout=2s",  // WAIT longer than the call
       }) {
    INFO(url);
    CHECK_THROWS_AS(OpenStore(url), std::invalid_argument);
  }
  auto parsed = ParseStoreUrl("memory://");
  REQUIRE(parsed.ok());
  CHECK_THROWS_AS(MakeRedisStore(*parsed), std::invalid_argument);
}

TEST_CASE("messages name options as the URL does, and say when a port is out of range") {
  auto message = [](const std::string& url) {
    try {
      OpenStore(url);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    FAIL("no exception for " << url);
    return std::string();
  };
  auto has = [](const std::string& text, std::string_view part) {
    INFO(text);
    CHECK(text.find(part) != std::string::npos);
  };
  const std::string timeout = message("redis://h?timeout=0");
  has(timeout, "?timeout=0");
  CHECK(timeout.find("command_timeout") == std::string::npos);
  has(message("redis://h?connect_timeout=0ms"), "?connect_timeout=0ms");
  has(message("redis://h?reconnect_min=5s&reconnect_max=1s"), "?reconnect_max must be >= ?reconnect_min");
  has(message("redis://h?wait_replicas=1&wait_timeout=2s"), "?wait_timeout must be > 0 and below ?timeout");
  has(message("memcached://h?io_timeout=0"), "?io_timeout=0");
  const std::string port = message("redis://:s3cret@h:70000");
  has(port, "invalid store URL redis://:***@h:70000: port 70000 is out of range (1-65535)");
  CHECK(port.find("s3cret") == std::string::npos);
}

}  // namespace
}  // namespace jeff
