// Values over the item size limit: refused with kValueTooLarge, never
// truncated, and the connection stays usable.
#include <doctest/doctest.h>

#include <string>

#include "memcached/memcached_support.hpp"
#include "support/store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

TEST_CASE("values over the item size limit are refused, never truncated") {
  // One server for all subcases (doctest re-enters the test case for each).
  static const std::unique_ptr<ServerProcess> server = StartMemcached({"-I", "1m"});
  MemcachedStoreOptions o = TestOptions({server.get()});
  o.pool_size = 1;  // every call on the same connection

  SUBCASE("by the client check, before any I/O") {
    o.max_value_bytes = 1 << 20;
    MemcachedStore store(o);
    const std::string key = UniqueKey("client-limit");
    const std::int64_t sets_before = ServerStat(server->port(), "cmd_set");
    auto r = store.CompareAndSwap(key, std::nullopt, std::string((1 << 20) + 1, 'x'), 1min);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == Errc::kValueTooLarge);
    CHECK(ServerStat(server->port(), "cmd_set") == sets_before);
  }

  SUBCASE("by the server, for add and for cas") {
    o.max_value_bytes = 0;
    MemcachedStore store(o);
    const std::string key = UniqueKey("server-limit");
    const std::string huge(2 << 20, 'x');
    auto added = store.CompareAndSwap(key, std::nullopt, huge, 1min);
    REQUIRE_FALSE(added.ok());
    CHECK(added.error() == Errc::kValueTooLarge);
    CHECK_FALSE(store.Fetch(key).value().has_value());

    REQUIRE(store.CompareAndSwap(key, std::nullopt, "small", 1min).value());
    const Version v = store.Fetch(key).value()->version;
    auto swapped = store.CompareAndSwap(key, v, huge, 1min);
    REQUIRE_FALSE(swapped.ok());
    CHECK(swapped.error() == Errc::kValueTooLarge);
    auto kept = store.Fetch(key).value();
    REQUIRE(kept.has_value());
    CHECK(kept->value == "small");
    // The refused write changed nothing: the old version still applies.
    CHECK(store.CompareAndSwap(key, v, "next", 1min).value());
  }

  SUBCASE("exactly max_value_bytes still counts the item header on the server") {
    o.max_value_bytes = 1 << 20;
    MemcachedStore store(o);
    const std::string key = UniqueKey("at-limit");
    auto r = store.CompareAndSwap(key, std::nullopt, std::string(1 << 20, 'x'), 1min);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == Errc::kValueTooLarge);
    const std::string fits(900 * 1024, 'y');
    REQUIRE(store.CompareAndSwap(key, std::nullopt, fits, 1min).value());
    CHECK(store.Fetch(key).value()->value == fits);
  }
}

}  // namespace
}  // namespace jeff::test
