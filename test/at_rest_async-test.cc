// Encryption at rest through AsyncSessions on the memory store: the same
// flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/async_harness.hpp"
#include "support/at_rest_flow.hpp"
#include "support/memory_fixture.hpp"

#include <memory>
#include <vector>

namespace jeff::test {
namespace {

TEST_CASE("at rest: sealed records, rollout, rotation and swaps through AsyncSessions") {
  MemoryFixture f;
  std::vector<std::unique_ptr<AsyncHarness>> made;
  RunAtRestFlow(
      *f.store, f.options,
      [&](const Options& o) {
        made.push_back(std::make_unique<AsyncHarness>(o, f.store));
        return &made.back()->api();
      },
      [&](const std::string& store_key) { return StoredValue(*f.store, store_key).value; });
}

}  // namespace
}  // namespace jeff::test
