// RedisStore on a real 3-node Redis Cluster: the store contract suite, keys
// spread over every node, hash slots as the server computes them, and MOVED
// and ASK redirections during a live slot migration.

#include "redis_test_support.hpp"
#include "stores/redis/cluster_slots.hpp"
#include "support/store_contract.hpp"

#include <doctest/doctest.h>
#include <jeff/stores/open_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <random>
#include <thread>

namespace jeff::test {
namespace {

using std::chrono::milliseconds;
const std::chrono::minutes kLongTtl(10);

RedisCluster& SharedCluster() {
  static RedisCluster cluster(3);
  return cluster;
}

// A key (under `prefix`) whose slot is owned by node `node` right now.
std::string KeyOnNode(RedisCluster& cluster, std::size_t node, const std::string& what) {
  for (int i = 0;; ++i) {
    std::string key = UniqueKey(what + std::to_string(i));
    if (cluster.OwnerOf(redis_detail::KeySlot(key)) == node) return key;
  }
}

TEST_CASE("the store contract holds on a real 3-node Redis Cluster") {
  std::shared_ptr<Store> store = std::make_shared<RedisStore>(SharedCluster().Options());
  StoreHarness h;
  h.make = [&] { return store; };
  h.advance = [](milliseconds d) { std::this_thread::sleep_for(d); };
  h.short_ttl = milliseconds(1000);
  h.threads = 16;
  h.increments_per_thread = 50;
  RunStoreContract(h);
}

TEST_CASE("OpenStore opens the cluster from its URL, from any one seed") {
  auto& cluster = SharedCluster();
  for (const std::string& url :
       {cluster.Url(), "redis+cluster://" + cluster.nodes()[2]->address() + "?timeout=500ms"}) {
    auto store = OpenStore(url);
    const std::string key = UniqueKey("url");
    CHECK(store->CompareAndSwap(key, std::nullopt, "v", kLongTtl).value());
    CHECK(store->Fetch(key).value()->value == "v");
  }
}

TEST_CASE("keys spread over all three nodes, at the slots the server computes") {
  auto& cluster = SharedCluster();
  RedisStore store(cluster.Options());
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    keys.push_back(UniqueKey("spread"));
    REQUIRE(store.CompareAndSwap(keys.back(), std::nullopt, "v", kLongTtl).value());
  }
  std::vector<int> per_node(3, 0);
  for (const std::string& key : keys) {
    for (std::size_t n = 0; n < 3; ++n) {
      // A node that does not own the key answers MOVED.
      RawRedis raw(cluster.nodes()[n]->port());
      if (raw.TextOrError({"EXISTS", key}) == "1") ++per_node[n];
    }
  }
  MESSAGE("keys per node: " << per_node[0] << ", " << per_node[1] << ", " << per_node[2]);
  CHECK(per_node[0] + per_node[1] + per_node[2] == 300);
  for (int count : per_node) CHECK(count > 50);

  RawRedis raw(cluster.nodes()[0]->port());
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string key(rng() % 40, '\0');
    for (char& c : key) c = static_cast<char>(rng() % 128);
    if (i % 4 == 0) key = "x{" + key.substr(0, key.size() / 2) + "}y";
    CHECK(raw.Int({"CLUSTER", "KEYSLOT", key}) == redis_detail::KeySlot(key));
  }
}

TEST_CASE("MOVED and ASK are followed while a slot migrates between nodes") {
  auto& cluster = SharedCluster();
  RedisStore store(cluster.Options());
  const std::string key = KeyOnNode(cluster, 0, "migrating");
  const std::uint16_t slot = redis_detail::KeySlot(key);
  REQUIRE(store.CompareAndSwap(key, std::nullopt, "before", kLongTtl).value());  // map loaded

  RawRedis source(cluster.nodes()[0]->port());
  RawRedis target(cluster.nodes()[1]->port());
  cluster.BeginMigration(slot, 0, 1);

  // ASK: a key of the migrating slot that the source does not have lives on the target.
  const std::string asked = "{" + key + "}:asked";
  REQUIRE(redis_detail::KeySlot(asked) == slot);
  CHECK(source.TextOrError({"GET", asked}).rfind("ASK ", 0) == 0);
  CHECK_FALSE(store.Fetch(asked).value().has_value());
  REQUIRE(store.CompareAndSwap(asked, std::nullopt, "on the target", kLongTtl).value());
  CHECK(store.Fetch(asked).value()->value == "on the target");
  CHECK(source.TextOrError({"EXISTS", asked}).rfind("ASK ", 0) == 0);  // not on the source
  CHECK(target.Text({"ASKING"}) == "OK");
  CHECK(target.Int({"EXISTS", asked}) == 1);
  // The key still on the source is served there, and CAS keeps working on it.
  const Version v = store.Fetch(key).value()->version;
  REQUIRE(store.CompareAndSwap(key, v, "during", kLongTtl).value());

  // Finish the migration: MOVED from now on, followed transparently.
  cluster.MoveKeys(slot, 0, 1);
  cluster.FinishMigration(slot, 0, 1);
  CHECK(source.TextOrError({"GET", key}).rfind("MOVED ", 0) == 0);

  auto got = store.Fetch(key);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->value == "during");
  REQUIRE(store.CompareAndSwap(key, (*got)->version, "after", kLongTtl).value());
  CHECK(store.Fetch(asked).value()->value == "on the target");
  CHECK(target.Text({"GET", key}).substr(8) == "after");
  CHECK(store.Erase(key).ok());
  CHECK_FALSE(store.Fetch(key).value().has_value());

  // A store that learned the map before the move follows MOVED on its first call.
  RedisStore stale(cluster.Options());
  const std::string other = KeyOnNode(cluster, 2, "moved-again");
  const std::uint16_t other_slot = redis_detail::KeySlot(other);
  REQUIRE(stale.CompareAndSwap(other, std::nullopt, "v", kLongTtl).value());
  cluster.MigrateSlot(other_slot, 2, 0);
  CHECK(stale.Fetch(other).value()->value == "v");
  const Version ov = stale.Fetch(other).value()->version;
  CHECK(stale.CompareAndSwap(other, ov, "w", kLongTtl).value());
  CHECK(RawRedis(cluster.nodes()[0]->port()).Text({"GET", other}).substr(8) == "w");
}

TEST_CASE("a redirect limit of 0 turns a redirection into a store error") {
  auto& cluster = SharedCluster();
  RedisStoreOptions o = cluster.Options();
  o.max_redirects = 0;
  RedisStore store(o);
  const std::string key = KeyOnNode(cluster, 1, "limit");
  REQUIRE(store.CompareAndSwap(key, std::nullopt, "v", kLongTtl).value());
  cluster.MigrateSlot(redis_detail::KeySlot(key), 1, 2);
  CHECK(store.Fetch(key).error() == Errc::kStoreUnavailable);
  CHECK(store.Fetch(key).value()->value == "v");  // the MOVED patched the map
}

}  // namespace
}  // namespace jeff::test
