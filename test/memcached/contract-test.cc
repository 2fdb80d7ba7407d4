// The unchanged store contract suite on real memcached servers: one, and a
// pair with keys spread by consistent hashing.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "memcached/memcached_support.hpp"
#include "support/store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

StoreHarness Harness(std::vector<const ServerProcess*> servers) {
  StoreHarness h;
  h.make = [servers] { return std::make_shared<MemcachedStore>(TestOptions(servers)); };
  h.advance = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  h.short_ttl = 1000ms;
  h.threads = 8;
  h.increments_per_thread = 50;
  return h;
}

TEST_CASE("memcached store passes the store contract on one server") {
  RunStoreContract(Harness({&SharedServer(0)}));
}

TEST_CASE("memcached store passes the store contract on two servers") {
  RunStoreContract(Harness({&SharedServer(0), &SharedServer(1)}));
}

}  // namespace
}  // namespace jeff::test
