// The Sessions-level race suite (8 x 200 logins on one key all kept, no
// revoked session resurrected) and the session updates
// (support/session_updates.hpp) on a real PostgreSQL server.
#include <doctest/doctest.h>

#include "postgres/postgres_support.hpp"
#include "support/session_updates.hpp"
#include "support/sessions_race.hpp"

namespace jeff::test {
namespace {

TEST_CASE("sessions races on PostgreSQL") {
  RaceHarness h;
  h.store = std::make_shared<PostgresStore>(TestOptions(SharedPostgres().port()));
  RunSessionsRaces(h);
}

TEST_CASE("session updates on PostgreSQL") {
  RunSessionUpdates(std::make_shared<PostgresStore>(TestOptions(SharedPostgres().port())));
}

}  // namespace
}  // namespace jeff::test
