// Stateful sessions as bearer tokens (Issued::token, Sessions::CheckBearer)
// on the memory store, through both drivers.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>
#include <jeff/sessions.hpp>

#include "support/async_harness.hpp"
#include "support/bearer_flow.hpp"
#include "support/memory_fixture.hpp"

TEST_CASE("Sessions: a stateful session's token works as Authorization: Bearer") {
  jeff::test::MemoryFixture f;
  jeff::Sessions sessions(f.options);
  jeff::test::RunBearerFlow(sessions);
}

TEST_CASE("AsyncSessions: a stateful session's token works as Authorization: Bearer") {
  jeff::test::MemoryFixture f;
  jeff::test::AsyncHarness async(f);
  auto& api = async.api();
  jeff::test::RunBearerFlow(api);
  // The synchronous overload cannot reach the store.
  auto issued = api.Set("ann", "cli");
  REQUIRE(issued.ok());
  CHECK(async.sessions().CheckBearer("Bearer " + issued->token).status == jeff::CheckStatus::kAbsent);
}
