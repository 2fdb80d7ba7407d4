// The Sessions-level race suite (no lost login, no resurrected session) on
// one real memcached and on a pair, and the session updates
// (support/session_updates.hpp) and data at rest (support/at_rest_flow.hpp)
// on one.
#include <doctest/doctest.h>

#include "memcached/memcached_support.hpp"
#include "support/at_rest_flow.hpp"
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

// The value under `key` as `get` over a raw socket shows it.
std::string RawGet(std::uint16_t port, const std::string& key) {
  const std::string reply = RawCommand(port, "get " + key + "\r\n");
  const std::size_t header_end = reply.find("\r\n");
  const std::size_t size = std::stoul(reply.substr(reply.rfind(' ', header_end) + 1, header_end));
  return reply.substr(header_end + 2, size);
}

TEST_CASE("data at rest on one memcached: a raw get shows neither key nor meta") {
  auto store = std::make_shared<MemcachedStore>(TestOptions({&SharedServer(0)}));
  RunAtRestFlow(
      *store, RaceOptions(store), [](const Options& o) { return std::make_unique<Sessions>(o); },
      [](const std::string& store_key) { return RawGet(SharedServer(0).port(), store_key); });
}

}  // namespace
}  // namespace jeff::test
