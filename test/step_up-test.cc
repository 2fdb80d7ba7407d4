// Step-up authentication on Sessions over the memory store:
// Session::authenticated_at and Reauthenticated (the real stores run the
// same flow in their per-store session suites).
#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/record_ext.hpp"
#include "support/step_up_flow.hpp"

using namespace std::chrono_literals;

TEST_CASE("authenticated_at: Set's login, Reauthenticated's now with a new token, kept by every other write") {
  jeff::test::MemoryFixture f;
  jeff::Sessions sessions(f.options);
  jeff::test::RunStepUpFlow(sessions, f.clock, *f.store);
}

TEST_CASE("Reauthenticated in the login's millisecond stores nothing: the record stays v1") {
  jeff::test::MemoryFixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("ann", "laptop");
  REQUIRE(issued.ok());
  auto again = sessions.Reauthenticated(jeff::test::CookieOf(*issued));
  REQUIRE(again.ok());
  CHECK(again->session.authenticated_at == issued->session.created);
  CHECK(jeff::test::StoredFormat(*f.store, jeff::test::StoreKeyOf(f.options, "ann")) == 1);
}

TEST_CASE("Reauthenticated keeps the login's cookie kind, as Rotate does") {
  jeff::test::MemoryFixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("ann", "laptop", {.max_age = 0s});
  REQUIRE(issued.ok());
  f.clock.Advance(5min);
  auto again = sessions.Reauthenticated(jeff::test::CookieOf(*issued));
  REQUIRE(again.ok());
  CHECK_FALSE(again->session.persistent);
  CHECK_FALSE(jeff::test::CookieAttribute(again->set_cookie.front(), "Max-Age").has_value());
}

TEST_CASE("Stateless: authenticated_at is Set's auth_time, which refreshes keep; Reauthenticated is unsupported") {
  jeff::ManualClock clock;
  jeff::Options options;
  options.clock = clock.AsClock();
  options.stateless.secrets = {std::string(32, 'k')};
  jeff::Sessions sessions(options);
  auto issued = sessions.Set("ann", "laptop");
  REQUIRE(issued.ok());
  const jeff::TimePoint login = issued->session.created;
  CHECK(issued->session.authenticated_at == login);
  // Past touch_interval, Check re-issues the token (a new iat): the login
  // time stays, or a refresh would pass for a fresh authentication.
  clock.Advance(options.touch_interval + 1s);
  auto refreshed = sessions.Check(jeff::test::CookieOf(*issued));
  REQUIRE(refreshed.ok());
  REQUIRE(refreshed.set_cookie.size() == 1);
  CHECK(refreshed.session.created == clock.Now());
  CHECK(refreshed.session.authenticated_at == login);
  clock.Advance(options.touch_interval + 1s);
  auto again = sessions.Check(jeff::test::CookieHeaderOf(refreshed.set_cookie.front()));
  REQUIRE(again.ok());
  CHECK(again.session.created > login);
  CHECK(again.session.authenticated_at == login);
  CHECK(sessions.Reauthenticated(jeff::test::CookieOf(*issued)).error() == jeff::Errc::kUnsupported);
}
