// The Sessions-level race suite (no lost login, no resurrected session) on
// one real memcached and on a pair, and the session updates
// (support/session_updates.hpp) on one.
#include <doctest/doctest.h>

#include "memcached/memcached_support.hpp"
#include "support/session_updates.hpp"
#include "support/sessions_race.hpp"

namespace jeff::test {
namespace {

TEST_CASE("sessions races on one memcached") {
  RaceHarness h;
  h.store = std::make_shared<MemcachedStore>(TestOptions({&SharedServer(0)}));
  RunSessionsRaces(h);
}

TEST_CASE("sessions races on a pair of memcached servers") {
  RaceHarness h;
  h.store = std::make_shared<MemcachedStore>(TestOptions({&SharedServer(0), &SharedServer(1)}));
  RunSessionsRaces(h);
}

TEST_CASE("session updates on one memcached") {
  RunSessionUpdates(std::make_shared<MemcachedStore>(TestOptions({&SharedServer(0)})));
}

}  // namespace
}  // namespace jeff::test
