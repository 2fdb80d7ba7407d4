// The Sessions-level race suite (8 x 200 logins on one key all kept, no
// revoked session resurrected) and the session updates
// (support/session_updates.hpp) and data at rest (support/at_rest_flow.hpp)
// on a real PostgreSQL server.
#include <doctest/doctest.h>

#include "postgres/postgres_support.hpp"
#include "support/at_rest_flow.hpp"
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

// The bytes of bytea `escaped` (PostgreSQL's escape format: printable ASCII
// as is, `\\` for a backslash, `\ooo` in octal for any other byte).
std::string Unescape(const std::string& escaped) {
  std::string out;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out.push_back(escaped[i]);
    } else if (escaped[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else {
      out.push_back(static_cast<char>(std::stoi(escaped.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    }
  }
  return out;
}

TEST_CASE("data at rest on PostgreSQL: a raw SELECT shows neither key nor meta") {
  auto store = std::make_shared<PostgresStore>(TestOptions(SharedPostgres().port()));
  RawPostgres raw(SharedPostgres().port());
  RunAtRestFlow(
      *store, RaceOptions(store), [](const Options& o) { return std::make_unique<Sessions>(o); },
      [&](const std::string& store_key) {
        return Unescape(raw.Query("SELECT encode(value, 'escape') FROM jeff_sessions WHERE key = '" + store_key + "'"));
      });
}

}  // namespace
}  // namespace jeff::test
