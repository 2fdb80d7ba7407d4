// Step-up authentication on AsyncSessions over the memory store: the same
// flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/blocking_async.hpp"
#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/step_up_flow.hpp"

TEST_CASE("AsyncSessions: authenticated_at and Reauthenticated") {
  jeff::test::MemoryFixture f;
  f.options.store = nullptr;
  boost::asio::io_context ioc;
  jeff::AsyncSessions sessions(f.options, f.store, ioc.get_executor());
  jeff::test::BlockingAsync api(sessions, ioc);
  jeff::test::RunStepUpFlow(api, f.clock, *f.store);
}

TEST_CASE("AsyncSessions: Reauthenticated is unsupported in stateless mode") {
  boost::asio::io_context ioc;
  jeff::Options options;
  options.stateless.secrets = {std::string(32, 'k')};
  jeff::AsyncSessions sessions(options, nullptr, ioc.get_executor());
  jeff::test::BlockingAsync api(sessions, ioc);
  auto issued = api.Set("ann", "laptop");
  REQUIRE(issued.ok());
  CHECK(api.Reauthenticated(jeff::test::CookieOf(*issued)).error() == jeff::Errc::kUnsupported);
}
