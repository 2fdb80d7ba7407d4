// Encryption at rest through AsyncSessions on the memory store: the same
// flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/at_rest_flow.hpp"
#include "support/blocking_async.hpp"
#include "support/memory_fixture.hpp"

#include <memory>

namespace jeff::test {
namespace {

TEST_CASE("at rest: sealed records, rollout, rotation and swaps through AsyncSessions") {
  MemoryFixture f;
  Options base = f.options;
  base.store = nullptr;
  boost::asio::io_context ioc;
  std::vector<std::unique_ptr<OwnedAsync>> owned;
  RunAtRestFlow(
      *f.store, base,
      [&](const Options& o) {
        owned.push_back(std::make_unique<OwnedAsync>(o, f.store, ioc));
        return &owned.back()->api;
      },
      [&](const std::string& store_key) { return StoredValue(*f.store, store_key).value; });
}

}  // namespace
}  // namespace jeff::test
