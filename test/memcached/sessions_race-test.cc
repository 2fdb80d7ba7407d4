// The Sessions-level race suite (no lost login, no resurrected session) on
// one real memcached and on a pair.
#include <doctest/doctest.h>

#include "memcached/memcached_support.hpp"
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

}  // namespace
}  // namespace jeff::test
