// RedisStore against one real redis-server: the store contract suite, the
// on-wire layout, AUTH/SELECT/prefix, script reload and corrupt values.

#include "redis/redis_test_support.hpp"
#include "support/key_listing_contract.hpp"
#include "support/store_contract.hpp"

#include <doctest/doctest.h>
#include <jeff/stores/redis/redis_store.hpp>

#include <thread>

namespace jeff::test {
namespace {

ServerProcess& SharedRedis() {
  static std::unique_ptr<ServerProcess> server = StartRedis();
  return *server;
}

std::shared_ptr<RedisStore> StoreOn(std::uint16_t port) {
  return std::make_shared<RedisStore>(LocalOptions(port));
}

const std::chrono::minutes kLongTtl(10);

TEST_CASE("the store contract holds on a real redis-server") {
  std::shared_ptr<Store> store = StoreOn(SharedRedis().port());
  StoreHarness h;
  h.make = [&] { return store; };
  h.advance = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  h.short_ttl = std::chrono::milliseconds(1000);
  h.threads = 16;
  h.increments_per_thread = 100;
  RunStoreContract(h);
}

TEST_CASE("ListKeys is SCAN MATCH of the prefix, taken literally, without the store's own key_prefix") {
  std::shared_ptr<RedisStore> plain = StoreOn(SharedRedis().port());
  RunKeyListingContract(*plain, "scan:");
  RedisStoreOptions o = LocalOptions(SharedRedis().port());
  o.key_prefix = "ns*:";
  RedisStore prefixed(o);
  RunKeyListingContract(prefixed, "");
  // Its keys are under the store's prefix on the server; the plain store
  // sees them there, not under their own names.
  REQUIRE(prefixed.CompareAndSwap("kl:mine", std::nullopt, "v", kLongTtl).value());
  int seen = 0;
  CHECK(plain->ListKeys("ns*:kl:", 10, [&](std::span<const std::string> keys) -> Result<void> {
    seen += static_cast<int>(keys.size());
    CHECK(keys[0] == "ns*:kl:mine");
    return {};
  }));
  CHECK(seen == 1);
  CHECK(prefixed.Erase("kl:mine"));
}

TEST_CASE("the value is stored as an 8-byte big-endian version followed by the bytes") {
  auto store = StoreOn(SharedRedis().port());
  RawRedis raw(SharedRedis().port());
  const std::string key = UniqueKey("layout");
  const std::string value("va\0lue", 6);
  REQUIRE(store->CompareAndSwap(key, std::nullopt, value, kLongTtl).value());
  const std::string stored = raw.Text({"GET", key});
  REQUIRE(stored.size() == 8 + value.size());
  CHECK(stored.substr(8) == value);
  Version version = 0;
  for (int i = 0; i < 8; ++i) version = (version << 8) | static_cast<unsigned char>(stored[i]);
  CHECK(store->Fetch(key).value()->version == version);
  const long long pttl = raw.Int({"PTTL", key});
  CHECK(pttl > 590000);
  CHECK(pttl <= 600000);
}

TEST_CASE("garbage under a key is reported as corrupt, never as a value or a miss") {
  auto store = StoreOn(SharedRedis().port());
  RawRedis raw(SharedRedis().port());

  const std::string short_key = UniqueKey("short");
  raw.Text({"SET", short_key, "1234567"});
  CHECK(store->Fetch(short_key).error() == Errc::kStoreCorrupt);
  // "Only if absent" (SET NX) loses to whatever occupies the key; the
  // caller's re-read then reports the corruption.
  CHECK_FALSE(store->CompareAndSwap(short_key, std::nullopt, "x", kLongTtl).value());
  CHECK(store->CompareAndSwap(short_key, Version{1}, "x", kLongTtl).error() == Errc::kStoreCorrupt);
  CHECK(raw.Text({"GET", short_key}) == "1234567");  // untouched
  CHECK(store->Erase(short_key).ok());

  const std::string hash_key = UniqueKey("hash");
  raw.Int({"HSET", hash_key, "field", "value"});
  CHECK(store->Fetch(hash_key).error() == Errc::kStoreCorrupt);
  CHECK_FALSE(store->CompareAndSwap(hash_key, std::nullopt, "x", kLongTtl).value());
  CHECK(store->CompareAndSwap(hash_key, Version{1}, "x", kLongTtl).error() == Errc::kStoreCorrupt);
  CHECK(raw.Text({"HGET", hash_key, "field"}) == "value");  // untouched
  CHECK(store->Erase(hash_key).ok());
  CHECK_FALSE(store->Fetch(hash_key).value().has_value());
}

TEST_CASE("the compare-and-swap script is reloaded after SCRIPT FLUSH") {
  auto store = StoreOn(SharedRedis().port());
  RawRedis raw(SharedRedis().port());
  const std::string key = UniqueKey("noscript");
  REQUIRE(store->CompareAndSwap(key, std::nullopt, "1", kLongTtl).value());
  raw.Text({"SCRIPT", "FLUSH"});
  const Version v = store->Fetch(key).value()->version;
  auto swapped = store->CompareAndSwap(key, v, "2", kLongTtl);
  REQUIRE(swapped.ok());
  CHECK(*swapped);
  CHECK(store->Fetch(key).value()->value == "2");
}

TEST_CASE("arguments the store cannot honour are refused before any I/O") {
  RedisStoreOptions o = LocalOptions(SharedRedis().port());
  o.max_value_bytes = 10;
  RedisStore store(o);
  const std::string key = UniqueKey("args");
  CHECK(store.CompareAndSwap(key, std::nullopt, "x", std::chrono::milliseconds(0)).error() ==
        Errc::kInvalidArgument);
  CHECK(store.CompareAndSwap(key, std::nullopt, std::string(11, 'x'), kLongTtl).error() ==
        Errc::kValueTooLarge);
  CHECK(store.CompareAndSwap(key, std::nullopt, std::string(10, 'x'), kLongTtl).value());
}

TEST_CASE("AUTH, SELECT and the key prefix are applied to every connection") {
  auto server = StartRedis({"--requirepass", "s3cret pass"});
  RedisStoreOptions o = LocalOptions(server->port());
  o.password = "s3cret pass";
  o.db = 3;
  o.key_prefix = "app1:";
  o.pool_size = 4;
  RedisStore store(o);
  const std::string key = UniqueKey("select");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string k = key + ":" + std::to_string(t);
      CHECK(store.CompareAndSwap(k, std::nullopt, "v", kLongTtl).value());
      CHECK(store.Fetch(k).value()->value == "v");
    });
  }
  for (auto& t : threads) t.join();
  RawRedis raw(server->port(), "s3cret pass");
  CHECK(raw.Text({"GET", "app1:" + key + ":0"}) == "(nil)");  // not in db 0
  raw.Text({"SELECT", "3"});
  CHECK(raw.Text({"GET", "app1:" + key + ":0"}).substr(8) == "v");
  CHECK(raw.Text({"GET", key + ":0"}) == "(nil)");

  RedisStoreOptions wrong = o;
  wrong.password = "wrong";
  CHECK(RedisStore(wrong).Fetch(key).error() == Errc::kStoreRefused);
  RedisStoreOptions none = o;
  none.password.clear();
  CHECK(RedisStore(none).Fetch(key).error() == Errc::kStoreRefused);  // NOAUTH
}

TEST_CASE("an ACL user name is sent with AUTH") {
  auto server = StartRedis({"--user", "default", "off", "--user", "alice", "on", ">pw", "~*", "+@all"});
  RedisStoreOptions o = LocalOptions(server->port());
  o.username = "alice";
  o.password = "pw";
  RedisStore store(o);
  const std::string key = UniqueKey("acl");
  CHECK(store.CompareAndSwap(key, std::nullopt, "v", kLongTtl).value());
  CHECK(store.Fetch(key).value()->value == "v");
  o.username = "bob";
  CHECK(RedisStore(o).Fetch(key).error() == Errc::kStoreRefused);
}

TEST_CASE("invalid options throw at construction") {
  auto bad = [](auto change) {
    RedisStoreOptions o;
    change(o);
    CHECK_THROWS_AS(RedisStore{o}, std::invalid_argument);
  };
  bad([](RedisStoreOptions& o) { o.hosts.clear(); });
  bad([](RedisStoreOptions& o) { o.hosts.push_back({"127.0.0.2", 6379}); });
  bad([](RedisStoreOptions& o) { o.hosts[0].host.clear(); });
  bad([](RedisStoreOptions& o) { o.command_timeout = std::chrono::milliseconds(0); });
  bad([](RedisStoreOptions& o) { o.connect_timeout = std::chrono::milliseconds(0); });
  bad([](RedisStoreOptions& o) { o.pool_timeout = std::chrono::milliseconds(-1); });
  bad([](RedisStoreOptions& o) { o.reconnect_backoff_max = std::chrono::milliseconds(1); });
  bad([](RedisStoreOptions& o) { o.db = -1; });
  bad([](RedisStoreOptions& o) { o.username = "alice"; });
  bad([](RedisStoreOptions& o) { o.max_redirects = -1; });
  bad([](RedisStoreOptions& o) {
    o.cluster = true;
    o.db = 1;
  });
  bad([](RedisStoreOptions& o) {
    o.cluster = true;
    o.key_prefix = "{jeff}:";
  });
  RedisStoreOptions ok;
  ok.hosts = {{"localhost", 0}};
  CHECK(RedisStore(ok).options().hosts[0].port == 6379);
}

}  // namespace
}  // namespace jeff::test
