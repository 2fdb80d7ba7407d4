// Sessions::UpdateMeta on the memory store (the real stores run the same
// flow in their per-store session suites).
#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/sessions_race.hpp"
#include "support/update_meta_flow.hpp"

using namespace std::chrono_literals;

TEST_CASE("UpdateMeta replaces a session's meta, by cookie or by id, within Set's limits") {
  jeff::test::MemoryFixture f;
  jeff::Sessions sessions(f.options);
  jeff::test::RunUpdateMetaFlow(sessions);
}

TEST_CASE("UpdateMeta of an expired session finds none and writes nothing") {
  jeff::test::MemoryFixture f;
  f.options.idle_timeout = 10min;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("ann", "laptop");
  REQUIRE(issued.ok());
  f.clock.Advance(11min);
  CHECK(sessions.UpdateMeta(jeff::test::CookieOf(*issued), "late").error() == jeff::Errc::kSessionNotFound);
  CHECK(sessions.UpdateMeta("ann", issued->session.id, "late").error() == jeff::Errc::kSessionNotFound);
}

TEST_CASE("UpdateMeta races logins of the same key through the compare-and-swap") {
  jeff::test::MemoryFixture f;
  jeff::Sessions sessions(jeff::test::RaceOptions(f.store));
  jeff::test::RunUpdateMetaRace(sessions);
}

TEST_CASE("UpdateMeta is unsupported in stateless mode") {
  jeff::Options options;
  options.stateless.secrets = {std::string(32, 'k')};
  jeff::Sessions sessions(options);
  auto issued = sessions.Set("ann", "laptop");
  REQUIRE(issued.ok());
  CHECK(sessions.UpdateMeta(jeff::test::CookieOf(*issued), "x").error() == jeff::Errc::kUnsupported);
  CHECK(sessions.UpdateMeta("ann", issued->session.id, "x").error() == jeff::Errc::kUnsupported);
}
