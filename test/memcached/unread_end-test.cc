// A read that finds its key returns without reading the reply's closing END
// (libmemcached reads it before the connection's next command). On one
// pooled connection, every kind of command right after such a read must get
// its own answer, never that END or anything else left from the read.
#include <doctest/doctest.h>

#include <string>

#include "memcached/memcached_support.hpp"
#include "support/store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

void EveryCommandAfterAHit(const std::vector<const ServerProcess*>& servers) {
  MemcachedStoreOptions o = TestOptions(servers);
  o.pool_size = 1;  // every call on the same handle, so the same connections
  MemcachedStore store(o);
  const std::string key = UniqueKey("unread-end");

  REQUIRE(store.CompareAndSwap(key, std::nullopt, "v1", 1min).value());
  auto first = store.Fetch(key);
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->value == "v1");

  // add of a present key right after a hit: its own NOT_STORED.
  CHECK_FALSE(store.CompareAndSwap(key, std::nullopt, "other", 1min).value());
  REQUIRE(store.Fetch(key).value().has_value());
  // cas with the version just read: its own STORED.
  CHECK(store.CompareAndSwap(key, (*first)->version, "v2", 1min).value());
  auto second = store.Fetch(key);
  REQUIRE(second.ok());
  REQUIRE(second->has_value());
  CHECK((*second)->value == "v2");
  // cas with a stale version right after a hit: its own EXISTS.
  CHECK_FALSE(store.CompareAndSwap(key, (*first)->version, "v3", 1min).value());
  // A read right after a hit: its own value and version.
  REQUIRE(store.Fetch(key).value().has_value());
  auto third = store.Fetch(key);
  REQUIRE(third.ok());
  REQUIRE(third->has_value());
  CHECK((*third)->value == "v2");
  CHECK((*third)->version == (*second)->version);
  // delete right after a hit, then a miss, then add after the miss.
  CHECK(store.Erase(key).ok());
  auto gone = store.Fetch(key);
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
  CHECK(store.CompareAndSwap(key, std::nullopt, "v4", 1min).value());
  auto back = store.Fetch(key);
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK((*back)->value == "v4");
}

TEST_CASE("every command after a read that found its key gets its own answer") {
  SUBCASE("one server") { EveryCommandAfterAHit({&SharedServer(0)}); }
  SUBCASE("two servers") { EveryCommandAfterAHit({&SharedServer(0), &SharedServer(1)}); }
}

}  // namespace
}  // namespace jeff::test
