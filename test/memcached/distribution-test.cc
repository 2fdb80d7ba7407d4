// Keys spread over a pair of servers, checked with the servers' own view.
#include <doctest/doctest.h>

#include <string>

#include "memcached/memcached_support.hpp"
#include "support/store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

TEST_CASE("keys land on both servers of a pair, each on exactly one") {
  const ServerProcess* a = &SharedServer(0);
  const ServerProcess* b = &SharedServer(1);
  const std::int64_t a_before = ServerStat(a->port(), "curr_items");
  const std::int64_t b_before = ServerStat(b->port(), "curr_items");
  MemcachedStoreOptions o = TestOptions({a, b});
  o.key_prefix = "app:";
  MemcachedStore store(o);

  constexpr int kKeys = 200;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(UniqueKey("spread"));
    REQUIRE(store.CompareAndSwap(keys.back(), std::nullopt, "v", 10min).value());
  }
  const std::int64_t on_a = ServerStat(a->port(), "curr_items") - a_before;
  const std::int64_t on_b = ServerStat(b->port(), "curr_items") - b_before;
  CHECK(on_a + on_b == kKeys);
  // Ketama with two equal servers: roughly half each, never all on one.
  CHECK(on_a > kKeys / 5);
  CHECK(on_b > kKeys / 5);

  int held_by_a = 0;
  for (const std::string& key : keys) {
    // The servers see the prefixed key.
    const bool in_a = ServerHolds(a->port(), "app:" + key);
    const bool in_b = ServerHolds(b->port(), "app:" + key);
    CHECK(in_a != in_b);
    held_by_a += in_a ? 1 : 0;
  }
  CHECK(held_by_a == on_a);
}

TEST_CASE("placement is stable: another store on the same servers finds every key") {
  MemcachedStore writer(TestOptions({&SharedServer(0), &SharedServer(1)}));
  // Same servers listed in the other order: ketama places by server name.
  MemcachedStore reader(TestOptions({&SharedServer(1), &SharedServer(0)}));
  for (int i = 0; i < 50; ++i) {
    const std::string key = UniqueKey("stable");
    REQUIRE(writer.CompareAndSwap(key, std::nullopt, key, 10min).value());
    auto got = reader.Fetch(key);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->value == key);
  }
}

}  // namespace
}  // namespace jeff::test
