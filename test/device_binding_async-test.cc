// DBSC on AsyncSessions over the memory store: the same flow as Sessions.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/blocking_async.hpp"
#include "support/dbsc_flow.hpp"

using namespace std::chrono_literals;

TEST_CASE("AsyncSessions: registration, refreshes, Check, Clear and Delete") {
  jeff::ManualClock clock;
  jeff::MemoryStoreOptions mo;
  mo.clock = clock.AsClock();
  auto store = std::make_shared<jeff::MemoryStore>(mo);
  jeff::Options options;
  options.clock = clock.AsClock();
  options.device_binding.enabled = true;
  boost::asio::io_context ioc;
  jeff::AsyncSessions sessions(options, store, ioc.get_executor());
  jeff::test::BlockingAsync api(sessions, ioc);
  jeff::test::RunDbscFlow(api, clock);
}

TEST_CASE("AsyncSessions: DBSC off or stateless: the endpoints are unsupported") {
  boost::asio::io_context ioc;
  jeff::Options options;
  options.stateless.secrets = {std::string(32, 'k')};
  jeff::AsyncSessions stateless(options, nullptr, ioc.get_executor());
  jeff::test::BlockingAsync api(stateless, ioc);
  CHECK(api.RegisterDevice("", "").error() == jeff::Errc::kUnsupported);
  CHECK(api.RefreshDevice("", "", "").error() == jeff::Errc::kUnsupported);
  options.device_binding.enabled = true;
  CHECK_THROWS_AS(jeff::AsyncSessions(options, nullptr, ioc.get_executor()), std::invalid_argument);
}
