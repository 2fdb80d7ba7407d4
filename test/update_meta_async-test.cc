// AsyncSessions::UpdateMeta on the memory store: the same flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/blocking_async.hpp"
#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/update_meta_flow.hpp"

TEST_CASE("AsyncSessions::UpdateMeta replaces a session's meta, by cookie or by id") {
  jeff::test::MemoryFixture f;
  f.options.store = nullptr;
  boost::asio::io_context ioc;
  jeff::AsyncSessions sessions(f.options, f.store, ioc.get_executor());
  jeff::test::BlockingAsync api(sessions, ioc);
  jeff::test::RunUpdateMetaFlow(api);
}

TEST_CASE("AsyncSessions::UpdateMeta is unsupported in stateless mode") {
  boost::asio::io_context ioc;
  jeff::Options options;
  options.stateless.secrets = {std::string(32, 'k')};
  jeff::AsyncSessions sessions(options, nullptr, ioc.get_executor());
  jeff::test::BlockingAsync api(sessions, ioc);
  auto issued = api.Set("ann", "laptop");
  REQUIRE(issued.ok());
  CHECK(api.UpdateMeta(jeff::test::CookieOf(*issued), "x").error() == jeff::Errc::kUnsupported);
  CHECK(api.UpdateMeta("ann", issued->session.id, "x").error() == jeff::Errc::kUnsupported);
}
