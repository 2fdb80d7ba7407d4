// AsyncSessions::UpdateMeta on the memory store: the same flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/async_harness.hpp"
#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/update_meta_flow.hpp"

TEST_CASE("AsyncSessions::UpdateMeta replaces a session's meta, by cookie or by id") {
  jeff::test::MemoryFixture f;
  jeff::test::AsyncHarness async(f);
  jeff::test::RunUpdateMetaFlow(async.api());
}

TEST_CASE("AsyncSessions::UpdateMeta is unsupported in stateless mode") {
  jeff::test::AsyncHarness async(jeff::test::AsyncHarness::StatelessOptions(), nullptr);
  auto& api = async.api();
  auto issued = api.Set("ann", "laptop");
  REQUIRE(issued.ok());
  CHECK(api.UpdateMeta(jeff::test::CookieOf(*issued), "x").error() == jeff::Errc::kUnsupported);
  CHECK(api.UpdateMeta("ann", issued->session.id, "x").error() == jeff::Errc::kUnsupported);
}
