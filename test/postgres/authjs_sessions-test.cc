// AuthJsDatabaseSessions against a real PostgreSQL server and the real
// @auth/pg-adapter with pg (npm, test/postgres/authjs/adapter.mjs under
// node): rows the adapter writes are accepted by jeff's Check, and sessions
// jeff clears or deletes are refused by the adapter's getSessionAndUser.
// Fails, never skips, when node or the pinned npm packages are missing.
#include <doctest/doctest.h>

#include <jeff/stores/postgres/authjs_sessions.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "postgres/postgres_support.hpp"

namespace jeff::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }  // callers pass no quotes

// Runs `adapter.mjs <url> <args...>` and parses its one JSON line. Fails the
// test (REQUIRE) when node cannot run it.
json Adapter(std::uint16_t port, const std::vector<std::string>& args) {
  const std::string dir = Env("JEFF_AUTHJS_PG_DIR", JEFF_AUTHJS_PG_DIR);
  std::string command = Quote(Env("JEFF_NODE", "node")) + " " + Quote(dir + "/adapter.mjs") + " " +
                        Quote(PostgresUrl(port));
  for (const std::string& a : args) command += " " + Quote(a);
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot start " << command);
  std::string output;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  command << " failed; is node installed, and were the packages installed with "
                             "`npm ci --prefix test/postgres/authjs`?");
  return json::parse(output);
}

// The schema of @auth/pg-adapter as its documentation gives it
// (authjs.dev/getting-started/adapters/pg); the package ships no SQL.
const char* const kPgAdapterSchema = R"sql(
CREATE TABLE IF NOT EXISTS verification_token (
  identifier TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL, token TEXT NOT NULL,
  PRIMARY KEY (identifier, token));
CREATE TABLE IF NOT EXISTS accounts (
  id SERIAL, "userId" INTEGER NOT NULL, type VARCHAR(255) NOT NULL, provider VARCHAR(255) NOT NULL,
  "providerAccountId" VARCHAR(255) NOT NULL, refresh_token TEXT, access_token TEXT, expires_at BIGINT,
  id_token TEXT, scope TEXT, session_state TEXT, token_type TEXT, PRIMARY KEY (id));
CREATE TABLE IF NOT EXISTS sessions (
  id SERIAL, "userId" INTEGER NOT NULL, expires TIMESTAMPTZ NOT NULL,
  "sessionToken" VARCHAR(255) NOT NULL, PRIMARY KEY (id));
CREATE TABLE IF NOT EXISTS users (
  id SERIAL, name VARCHAR(255), email VARCHAR(255), "emailVerified" TIMESTAMPTZ, image TEXT,
  PRIMARY KEY (id));
)sql";

// The shared server, with the adapter's tables created once.
std::uint16_t Server() {
  static const std::uint16_t port = [] {
    const std::uint16_t p = SharedPostgres().port();
    RawPostgres(p).Query(kPgAdapterSchema);
    return p;
  }();
  return port;
}

AuthJsDatabaseOptions Options(std::uint16_t port) {
  AuthJsDatabaseOptions o;
  o.conninfo = PostgresUrl(port);
  o.connect_timeout = std::chrono::seconds(5);
  o.command_timeout = std::chrono::seconds(5);
  o.pool_timeout = std::chrono::seconds(5);
  o.reconnect_backoff_min = milliseconds(20);
  o.reconnect_backoff_max = milliseconds(200);
  return o;
}

// A random token shaped like Auth.js's default (crypto.randomUUID()).
std::string NewToken() {
  static std::mt19937_64 rng{std::random_device{}()};
  const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 36; ++i) t += (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[rng() % 16];
  return t;
}

std::int64_t NowMillis() { return ToUnixMillis(std::chrono::system_clock::now()); }

// A user created by the adapter; its id in text form.
std::string AdapterUser(const std::string& email, const std::string& name) {
  const json user = Adapter(Server(), {"user", email, name});
  REQUIRE(user.contains("id"));
  return user["id"].is_string() ? user["id"].get<std::string>() : user["id"].dump();
}

void AdapterSession(const std::string& user_id, const std::string& token, std::int64_t expires_ms) {
  const json session = Adapter(Server(), {"session", user_id, token, std::to_string(expires_ms)});
  REQUIRE(session["sessionToken"] == token);
}

std::string Cookie(const std::string& token) { return "theme=dark; authjs.session-token=" + token; }

TEST_CASE("node and the pinned @auth/pg-adapter and pg are installed") {
  const json versions = Adapter(Server(), {"versions"});
  MESSAGE("node " << versions["node"] << ", @auth/pg-adapter " << versions["@auth/pg-adapter"] << ", pg "
                  << versions["pg"]);
  CHECK(versions["@auth/pg-adapter"] == "1.11.3");
  CHECK(versions["pg"] == "8.23.1");
}

TEST_CASE("a session written by the real @auth/pg-adapter is accepted by Check") {
  AuthJsDatabaseSessions sessions(Options(Server()));
  const std::string user = AdapterUser("ada@example.com", "Ada Lovelace");
  const std::string token = NewToken();
  const std::int64_t expires = NowMillis() + 3600 * 1000;
  AdapterSession(user, token, expires);

  for (const std::string& header : {Cookie(token), "__Secure-authjs.session-token=" + token + "; x=1"}) {
    const AuthJsCheckResult checked = sessions.Check(header);
    REQUIRE(checked.status == CheckStatus::kOk);
    CHECK(checked.session.user_id == user);
    CHECK(checked.session.email == "ada@example.com");
    CHECK(checked.session.name == "Ada Lovelace");
    CHECK(ToUnixMillis(checked.session.expires) == expires);
    CHECK(checked.session.id.size() == 16);
    CHECK(checked.session.id.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  // What Auth.js's adapter itself sees for the same token.
  const json both = Adapter(Server(), {"get", token});
  CHECK(both["user"]["email"] == "ada@example.com");
}

TEST_CASE("concurrent Checks share the pool; time per Check measured") {
  AuthJsDatabaseOptions o = Options(Server());
  o.pool_size = 4;
  AuthJsDatabaseSessions sessions(o);
  const std::string user = AdapterUser("many@example.com", "Many");
  const std::string token = NewToken();
  AdapterSession(user, token, NowMillis() + 3600 * 1000);
  const std::string header = Cookie(token);
  constexpr int kThreads = 8;
  constexpr int kChecks = 250;
  std::atomic<int> ok{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kChecks; ++i) ok += sessions.Check(header).ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(ok == kThreads * kChecks);
  MESSAGE((kThreads * kChecks) << " Checks on " << kThreads << " threads, pool of 4: "
                             << std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count() /
                                    (kThreads * kChecks)
                             << " us per Check (wall)");
}

TEST_CASE("expired, unknown, absent and malformed cookies are refused without a store error") {
  AuthJsDatabaseSessions sessions(Options(Server()));
  const std::string user = AdapterUser("old@example.com", "Old");
  const std::string expired = NewToken();
  AdapterSession(user, expired, NowMillis() - 60 * 1000);

  CHECK(sessions.Check(Cookie(expired)).status == CheckStatus::kExpired);
  CHECK(sessions.Check(Cookie(NewToken())).status == CheckStatus::kUnknown);
  CHECK(sessions.Check("theme=dark").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("authjs.session-token=").status == CheckStatus::kMalformed);
  CHECK(sessions.Check(Cookie(std::string(256, 'a'))).status == CheckStatus::kMalformed);
  // SQL in the token is a token like any other.
  CHECK(sessions.Check(Cookie("x'OR'1'='1")).status == CheckStatus::kUnknown);
}

TEST_CASE("a session jeff Clears is refused by the adapter's getSessionAndUser") {
  AuthJsDatabaseSessions sessions(Options(Server()));
  const std::string user = AdapterUser("grace@example.com", "Grace");
  const std::string token = NewToken();
  const std::string other = NewToken();
  AdapterSession(user, token, NowMillis() + 3600 * 1000);
  AdapterSession(user, other, NowMillis() + 3600 * 1000);
  REQUIRE_FALSE(Adapter(Server(), {"get", token}).is_null());

  auto cleared = sessions.Clear(Cookie(token));
  REQUIRE(cleared.ok());
  REQUIRE(cleared->size() == 1);
  CHECK((*cleared)[0].starts_with("authjs.session-token=;"));
  CHECK((*cleared)[0].find("Max-Age=0") != std::string::npos);

  CHECK(Adapter(Server(), {"get", token}).is_null());
  CHECK(sessions.Check(Cookie(token)).status == CheckStatus::kUnknown);
  // Only that session: the user's other one lives on, for both.
  CHECK_FALSE(Adapter(Server(), {"get", other}).is_null());
  CHECK(sessions.Check(Cookie(other)).ok());
  // Clearing again, or without a cookie, succeeds; every session cookie sent is dropped,
  // a __Secure- one with Secure (browsers ignore it otherwise).
  auto again = sessions.Clear("__Secure-authjs.session-token=" + token + "; " + Cookie(token));
  REQUIRE(again.ok());
  REQUIRE(again->size() == 2);
  CHECK((*again)[0].starts_with("__Secure-authjs.session-token=;"));
  CHECK((*again)[0].find("; Secure") != std::string::npos);
  CHECK((*again)[1].starts_with("authjs.session-token=;"));
  auto none = sessions.Clear("theme=dark");
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("SessionsForKey lists the adapter's sessions; Delete revokes all of them") {
  AuthJsDatabaseSessions sessions(Options(Server()));
  const std::string user = AdapterUser("linus@example.com", "Linus");
  const std::string bystander = AdapterUser("ken@example.com", "Ken");
  const std::int64_t now = NowMillis();
  const std::vector<std::string> tokens{NewToken(), NewToken(), NewToken()};
  AdapterSession(user, tokens[0], now + 7200 * 1000);
  AdapterSession(user, tokens[1], now + 3600 * 1000);
  AdapterSession(user, tokens[2], now - 1000);  // expired: not listed, but deleted
  const std::string kept = NewToken();
  AdapterSession(bystander, kept, now + 3600 * 1000);

  auto listed = sessions.SessionsForKey(user);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK(ToUnixMillis((*listed)[0].expires) == now + 3600 * 1000);  // soonest first
  CHECK(ToUnixMillis((*listed)[1].expires) == now + 7200 * 1000);
  CHECK((*listed)[0].id == sessions.Check(Cookie(tokens[1])).session.id);
  std::set<std::string> ids;
  for (const AuthJsSession& s : *listed) {
    CHECK(s.user_id == user);
    CHECK_FALSE(s.email.has_value());
    CHECK(s.id.size() == 16);
    for (const std::string& t : tokens) CHECK(t.find(s.id) == std::string::npos);  // never the token
    ids.insert(s.id);
  }
  CHECK(ids.size() == 2);

  auto deleted = sessions.Delete(user);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 3);
  for (const std::string& t : tokens) {
    CHECK(Adapter(Server(), {"get", t}).is_null());
    CHECK(sessions.Check(Cookie(t)).status == CheckStatus::kUnknown);
  }
  CHECK(sessions.SessionsForKey(user)->empty());
  CHECK(*sessions.Delete(user) == 0);
  CHECK(sessions.Check(Cookie(kept)).ok());
  CHECK(sessions.SessionsForKey("no such user")->empty());
  CHECK(sessions.Delete("").error() == Errc::kInvalidArgument);
  CHECK(sessions.SessionsForKey("").error() == Errc::kInvalidArgument);
}

TEST_CASE("a Prisma-shaped layout: quoted mixed-case names, text ids, timestamp(3) in UTC") {
  RawPostgres raw(Server());
  raw.Query(R"sql(
    CREATE TABLE IF NOT EXISTS "User" (id TEXT PRIMARY KEY, name TEXT, email TEXT UNIQUE);
    CREATE TABLE IF NOT EXISTS "Session" (id TEXT PRIMARY KEY, "sessionToken" TEXT UNIQUE NOT NULL,
      "userId" TEXT NOT NULL REFERENCES "User"(id) ON DELETE CASCADE, expires TIMESTAMP(3) NOT NULL);
    INSERT INTO "User" VALUES ('ckuser1', NULL, 'p@example.com') ON CONFLICT DO NOTHING;
    INSERT INTO "Session" VALUES ('s1', 'prisma-live', 'ckuser1', (now() AT TIME ZONE 'UTC') + interval '90 seconds'),
                                 ('s2', 'prisma-old', 'ckuser1', (now() AT TIME ZONE 'UTC') - interval '90 seconds')
      ON CONFLICT DO NOTHING;
  )sql");
  AuthJsDatabaseOptions o = Options(Server());
  // A session time zone 14 hours from UTC: the column must still read as UTC.
  o.conninfo += "?options=-c%20TimeZone%3DPacific%2FKiritimati";
  o.sessions_table = "Session";
  o.users_table = "User";
  AuthJsDatabaseSessions sessions(o);
  const AuthJsCheckResult live = sessions.Check(Cookie("prisma-live"));
  REQUIRE(live.ok());
  CHECK(live.session.user_id == "ckuser1");
  CHECK_FALSE(live.session.name.has_value());
  const auto left = live.session.expires - std::chrono::system_clock::now();
  CHECK(left > std::chrono::seconds(60));
  CHECK(left < std::chrono::seconds(100));
  CHECK(sessions.Check(Cookie("prisma-old")).status == CheckStatus::kExpired);
  CHECK(sessions.SessionsForKey("ckuser1")->size() == 1);
}

TEST_CASE("a server that is down, or a missing table, is a store error, never 'not logged in'") {
  auto server = StartPostgres();
  WaitPostgresReady(server->port());
  RawPostgres(server->port()).Query(kPgAdapterSchema);
  RawPostgres(server->port()).Query(
      "INSERT INTO users (id, email) VALUES (1, 'a@b'); "
      "INSERT INTO sessions (\"userId\", expires, \"sessionToken\") VALUES (1, now() + interval '1 hour', 'tok');");
  AuthJsDatabaseSessions sessions(Options(server->port()));
  REQUIRE(sessions.Check(Cookie("tok")).ok());

  server->Kill();
  for (int i = 0; i < 3; ++i) {
    const AuthJsCheckResult checked = sessions.Check(Cookie("tok"));
    CHECK(checked.status == CheckStatus::kStoreError);
    CHECK(IsStoreError(checked.error));
  }
  CHECK(IsStoreError(sessions.Clear(Cookie("tok")).error()));
  CHECK(IsStoreError(sessions.Delete("1").error()));
  CHECK(IsStoreError(sessions.SessionsForKey("1").error()));

  server->Restart();
  WaitPostgresReady(server->port());
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = sessions.Check(Cookie("tok")).ok();
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(recovered);

  AuthJsDatabaseOptions missing = Options(server->port());
  missing.sessions_table = "no_such_table";
  const AuthJsCheckResult checked = AuthJsDatabaseSessions(missing).Check(Cookie("tok"));
  CHECK(checked.status == CheckStatus::kStoreError);
  CHECK(checked.error == Errc::kStoreRefused);
}

TEST_CASE("options are validated at construction") {
  auto bad = [](auto change) {
    AuthJsDatabaseOptions o = Options(1);
    change(o);
    CHECK_THROWS_AS(AuthJsDatabaseSessions{o}, std::invalid_argument);
  };
  bad([](AuthJsDatabaseOptions& o) { o.conninfo.clear(); });
  bad([](AuthJsDatabaseOptions& o) { o.sessions_table = "sessions\"; DROP TABLE users; --"; });
  bad([](AuthJsDatabaseOptions& o) { o.token_column = "a.b"; });
  bad([](AuthJsDatabaseOptions& o) { o.users_table = "a.b.c"; });
  bad([](AuthJsDatabaseOptions& o) { o.email_column = ""; });
  bad([](AuthJsDatabaseOptions& o) { o.name_column = std::string(64, 'n'); });
  bad([](AuthJsDatabaseOptions& o) { o.cookie_names.clear(); });
  bad([](AuthJsDatabaseOptions& o) { o.cookie_names = {"bad name"}; });
  bad([](AuthJsDatabaseOptions& o) { o.command_timeout = milliseconds(0); });
  bad([](AuthJsDatabaseOptions& o) { o.reconnect_backoff_min = milliseconds(5000); });
  try {
    AuthJsDatabaseOptions o = Options(1);
    o.conninfo = "postgresql://u:s3cret@h/db?nosuchoption=1";
    AuthJsDatabaseSessions s(o);
    FAIL("accepted a bad URL");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
  }
  AuthJsDatabaseOptions o = Options(1);
  o.sessions_table = "auth.Session";
  CHECK_NOTHROW(AuthJsDatabaseSessions{o});
}

}  // namespace
}  // namespace jeff::test
