// Step-up authentication on AsyncSessions over the memory store: the same
// flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/async_harness.hpp"
#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/step_up_flow.hpp"

TEST_CASE("AsyncSessions: authenticated_at and Reauthenticated") {
  jeff::test::MemoryFixture f;
  jeff::test::AsyncHarness async(f);
  jeff::test::RunStepUpFlow(async.api(), f.clock, *f.store);
}

TEST_CASE("AsyncSessions: Reauthenticated is unsupported in stateless mode") {
  jeff::test::AsyncHarness async(jeff::test::AsyncHarness::StatelessOptions(), nullptr);
  auto& api = async.api();
  auto issued = api.Set("ann", "laptop");
  REQUIRE(issued.ok());
  CHECK(api.Reauthenticated(jeff::test::CookieOf(*issued)).error() == jeff::Errc::kUnsupported);
}
