// End-to-end: `jeffctl sessions list` as a child process against sessions
// that this test process created in a real redis-server and memcached.

#include <doctest/doctest.h>

#include "support/server_process.hpp"
#include "support/dbsc_flow.hpp"
#include "tools/jeffctl_support.hpp"

#include <jeff/clock.hpp>
#include <jeff/cookie.hpp>
#include <jeff/stores/open_store.hpp>
#include <jeff/token.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace jeff::test {
namespace {

using nlohmann::json;

TEST_CASE("list prints each live session as one JSON line, oldest first") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    Sessions sessions = SessionsAt(url);
    const std::string key = "list-basic@example.com";
    const Issued laptop = sessions.Set(key, "laptop, Firefox").value();
    const Issued phone = sessions.Set(key, "phone \xc3\xbc \xf0\x9f\x98\x80").value();
    const Issued binary = sessions.Set(key, std::string("\xff\x00\x01", 3)).value();
    REQUIRE(sessions.Set("list-other@example.com", "not alice's").ok());

    const ProcessOutcome run = Jeffctl({"sessions", "list", key, "--store", url});
    CHECK(run.exit_code == kExitOk);
    CHECK(run.err == "");
    const std::vector<json> lines = JsonLines(run.out);
    REQUIRE(lines.size() == 3);
    const std::vector<const Issued*> issued = {&laptop, &phone, &binary};
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Session& s = issued[i]->session;
      CHECK(lines[i]["key"] == key);
      CHECK(lines[i]["id"] == FormatSessionId(s.id));
      CHECK(lines[i]["created_ms"] == ToUnixMillis(s.created));
      CHECK(lines[i]["expires_ms"] == ToUnixMillis(s.expires));
      CHECK(lines[i]["last_seen_ms"] == ToUnixMillis(s.last_seen));
      CHECK(lines[i]["expires_ms"].get<std::int64_t>() - lines[i]["created_ms"].get<std::int64_t>() ==
            std::chrono::milliseconds(std::chrono::hours(24 * 30)).count());
    }
    CHECK(lines[0]["meta"] == "laptop, Firefox");
    CHECK(lines[1]["meta"] == "phone \xc3\xbc \xf0\x9f\x98\x80");
    CHECK(lines[2]["meta"] == json{{"base64", "/wAB"}});
  }
}

TEST_CASE("list shows which sessions are bound to a device (DBSC)") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    Options options;
    options.device_binding.enabled = true;
    Sessions sessions = SessionsAt(url, options);
    const std::string key = "list-dbsc@example.com";
    REQUIRE(sessions.Set(key, "plain").ok());
    DbscBrowser browser;
    browser.Login(sessions.Set(key, "bound").value());
    REQUIRE(Register(sessions, browser).status == 200);

    const ProcessOutcome run = Jeffctl({"sessions", "list", key, "--store", url});
    CHECK(run.exit_code == kExitOk);
    const std::vector<json> lines = JsonLines(run.out);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["device_bound"] == false);
    CHECK(lines[1]["device_bound"] == true);
    CHECK(lines[1]["id"] == browser.session_id);
  }
}

TEST_CASE("list writes times as RFC 3339 UTC with milliseconds") {
  ManualClock clock(FromUnixMillis(1893456000123));  // 2030-01-01T00:00:00.123Z
  Options options;
  options.clock = clock.AsClock();
  options.max_age = jeff::kMaxCookieLifetime;  // still live in real time
  Sessions sessions = SessionsAt(LiveStoreUrls()[0], options);
  const std::string key = "list-times@example.com";
  REQUIRE(sessions.Set(key).ok());

  const ProcessOutcome run = Jeffctl({"sessions", "list", key, "--store", LiveStoreUrls()[0]});
  REQUIRE(run.exit_code == kExitOk);
  const json line = JsonLines(run.out).at(0);
  CHECK(line["created"] == "2030-01-01T00:00:00.123Z");
  CHECK(line["last_seen"] == "2030-01-01T00:00:00.123Z");
  CHECK(line["expires"] == "2031-02-05T00:00:00.123Z");  // + 400 days
  CHECK(line["meta"] == "");
}

TEST_CASE("list omits ended sessions and exits 1 when none is live") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    // Sessions made "two hours ago" that lasted one hour: ended in real time,
    // yet still in the store, whose TTL was computed from the seeding clock.
    ManualClock past(SystemClock()() - std::chrono::hours(2));
    Options old_options;
    old_options.clock = past.AsClock();
    old_options.max_age = std::chrono::hours(1);
    Sessions old_sessions = SessionsAt(url, old_options);
    const std::string key = "list-ended@example.com";
    REQUIRE(old_sessions.Set(key, "ended").ok());

    ProcessOutcome run = Jeffctl({"sessions", "list", key, "--store", url});
    CheckFails(run, kExitFailure, "no live session");

    const Issued live = SessionsAt(url).Set(key, "live").value();
    run = Jeffctl({"sessions", "list", key, "--store", url});
    CHECK(run.exit_code == kExitOk);
    const std::vector<json> lines = JsonLines(run.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["id"] == FormatSessionId(live.session.id));
  }
}

TEST_CASE("list honours the application's idle timeout when told it") {
  const std::string url = LiveStoreUrls()[1];
  ManualClock past(SystemClock()() - std::chrono::minutes(10));
  Options options;
  options.clock = past.AsClock();
  Sessions sessions = SessionsAt(url, options);
  const std::string key = "list-idle@example.com";
  REQUIRE(sessions.Set(key, "idle ten minutes").ok());

  CHECK(Jeffctl({"sessions", "list", key, "--store", url}).exit_code == kExitOk);
  CHECK(Jeffctl({"sessions", "list", key, "--store", url, "--idle-timeout", "0"}).exit_code == kExitOk);
  CHECK(Jeffctl({"sessions", "list", key, "--store", url, "--idle-timeout", "3600"}).exit_code ==
        kExitOk);
  const ProcessOutcome idle = Jeffctl({"sessions", "list", key, "--store", url, "--idle-timeout=300"});
  CheckFails(idle, kExitFailure, "no live session");
}

// Issue 27 item 2: the cookie kind of each session, as the application reads
// it: the login's recorded choice, else what its Options::max_age implies.
TEST_CASE("list shows whether each session's cookie is persistent") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    const std::string key = "list-kind@example.com";
    Sessions sessions = SessionsAt(url);  // Options::max_age 30 days
    REQUIRE(sessions.Set(key, "remembered").ok());                            // no recorded choice
    REQUIRE(sessions.Set(key, "kiosk", {.max_age = std::chrono::seconds(0)}).ok());  // recorded: browser session
    Options browser_default;
    browser_default.max_age = std::chrono::seconds(0);
    REQUIRE(SessionsAt(url, browser_default).Set(key, "week", {.max_age = std::chrono::hours(24 * 7)}).ok());

    const auto kinds = [&](std::vector<std::string> extra) {
      std::vector<std::string> args{"sessions", "list", key, "--store", url};
      args.insert(args.end(), extra.begin(), extra.end());
      const ProcessOutcome run = Jeffctl(args);
      CHECK(run.exit_code == kExitOk);
      std::vector<bool> out;
      for (const json& line : JsonLines(run.out)) out.push_back(line.at("persistent").get<bool>());
      return out;
    };
    CHECK(kinds({}) == std::vector<bool>{true, false, true});
    CHECK(kinds({"--max-age", "3600"}) == std::vector<bool>{true, false, true});
    // An application whose Options::max_age is 0 reads the unrecorded one as a browser session.
    CHECK(kinds({"--max-age", "0"}) == std::vector<bool>{false, false, true});
  }
  CheckFails(Jeffctl({"sessions", "list", "k", "--store", LiveStoreUrls()[0], "--max-age", "-1"}), kExitUsage,
             "--max-age");
}

TEST_CASE("list finds keys under the application's prefix and pepper only") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    Options options;
    options.key_prefix = "shop:sess:";
    options.pepper = "pepper-of-the-app";
    Sessions sessions = SessionsAt(url, options);
    const std::string key = "list-peppered@example.com";
    const Issued issued = sessions.Set(key, "peppered").value();

    // Finding nothing, jeffctl says where it looked: the prefix, and whether a pepper was given.
    CheckFails(Jeffctl({"sessions", "list", key, "--store", url}), kExitFailure,
               "--prefix (here jeff:) and --pepper (here none) must be the application's own");
    CheckFails(Jeffctl({"sessions", "list", key, "--store", url, "--prefix", "shop:sess:"}), kExitFailure,
               "--prefix (here shop:sess:) and --pepper (here none)");
    const ProcessOutcome unpeppered =
        Jeffctl({"sessions", "list", key, "--store", url, "--pepper", "pepper-of-the-app"});
    CheckFails(unpeppered, kExitFailure, "--prefix (here jeff:) and --pepper (here given)");
    CHECK(unpeppered.err.find("pepper-of-the-app") == std::string::npos);  // never echoes the secret

    ProcessOutcome run = Jeffctl(
        {"sessions", "list", key, "--store", url, "--prefix", "shop:sess:", "--pepper", "pepper-of-the-app"});
    CHECK(run.exit_code == kExitOk);
    CHECK(JsonLines(run.out).at(0)["id"] == FormatSessionId(issued.session.id));

    // The store from JEFF_STORE and the pepper from JEFF_PEPPER, out of the process list.
    run = Jeffctl({"sessions", "list", key, "--prefix", "shop:sess:"}, {},
                  {{"JEFF_STORE", url}, {"JEFF_PEPPER", "pepper-of-the-app"}});
    CHECK(run.exit_code == kExitOk);
    CHECK(JsonLines(run.out).size() == 1);
    // An explicit --pepper (even empty) wins over JEFF_PEPPER; --store over JEFF_STORE.
    run = Jeffctl({"sessions", "list", key, "--prefix", "shop:sess:", "--pepper", ""}, {},
                  {{"JEFF_STORE", url}, {"JEFF_PEPPER", "pepper-of-the-app"}});
    CHECK(run.exit_code == kExitFailure);
    run = Jeffctl({"sessions", "list", key, "--prefix", "shop:sess:", "--store", url}, {},
                  {{"JEFF_STORE", "redis://127.0.0.1:1"}, {"JEFF_PEPPER", "pepper-of-the-app"}});
    CHECK(run.exit_code == kExitOk);
  }
}

TEST_CASE("list on the store's own key prefix (?prefix= in the URL) needs the same URL") {
  const std::string url = LiveStoreUrls()[0] + "?prefix=tenant-a/";
  const std::string key = "list-url-prefix@example.com";
  REQUIRE(SessionsAt(url).Set(key).ok());
  CHECK(Jeffctl({"sessions", "list", key, "--store", LiveStoreUrls()[0]}).exit_code == kExitFailure);
  CHECK(Jeffctl({"sessions", "list", key, "--store", url}).exit_code == kExitOk);
}

TEST_CASE("list exits 3 when the store is down, times out, or holds a corrupt record") {
  SUBCASE("servers killed, or answering nothing") {
    for (OwnServer& server : StartOwnServers()) {
      CAPTURE(server.url);
      const std::string key = "list-down@example.com";
      REQUIRE(SessionsAt(server.setup_url).Set(key).ok());
      server.process->Pause();
      CheckFails(Jeffctl({"sessions", "list", key, "--store", server.url}), kExitStoreUnavailable,
                 "store " + server.scheme + "://");
      server.process->Kill();
      CheckFails(Jeffctl({"sessions", "list", key, "--store", server.url}), kExitStoreUnavailable,
                 "store " + server.scheme + "://");
    }
  }
  SUBCASE("nothing listening; the password stays out of the message") {
    const std::string url = "redis://:hunter2@127.0.0.1:" + std::to_string(FreePort()) + "?connect_timeout=300ms";
    const ProcessOutcome run = Jeffctl({"sessions", "list", "anyone", "--store", url});
    CHECK(run.exit_code == kExitStoreUnavailable);
    CHECK(run.err.find("hunter2") == std::string::npos);
  }
  SUBCASE("a record that does not decode is a store failure, not 'nothing found'") {
    for (const std::string& url : LiveStoreUrls()) {
      CAPTURE(url);
      const std::string key = "list-corrupt@example.com";
      auto store = OpenStore(url);
      REQUIRE(store->CompareAndSwap("jeff:" + KeyId(key), std::nullopt, "not msgpack",
                                    std::chrono::minutes(5))
                  .value());
      const ProcessOutcome run = Jeffctl({"sessions", "list", key, "--store", url});
      CheckFails(run, kExitStoreUnavailable, "store ");
    }
  }
}

TEST_CASE("list tells a store that refuses from one that is down, with the store's reason") {
  auto server = StartRedis({"--requirepass", "right pass"});
  const std::string at = server->address();
  SUBCASE("a wrong password: refused, in the server's words, the password hidden") {
    const ProcessOutcome run = Jeffctl({"sessions", "list", "k", "--store", "redis://:Wr0ng%20pw@" + at});
    CheckFails(run, kExitStoreUnavailable,
               "store redis://:***@" + at + ": session store refused the request: " + at + ": AUTH: WRONGPASS");
    CHECK(run.err.find("Wr0ng") == std::string::npos);
  }
  SUBCASE("a database index out of range") {
    CheckFails(Jeffctl({"sessions", "list", "k", "--store", "redis://:right%20pass@" + at + "/99"}),
               kExitStoreUnavailable, "session store refused the request: " + at + ": SELECT 99: ERR DB index is out of range");
  }
  SUBCASE("nothing listening: unavailable, and where it tried") {
    const std::string down = "127.0.0.1:" + std::to_string(FreePort());
    CheckFails(Jeffctl({"sessions", "list", "k", "--store", "redis://" + down}), kExitStoreUnavailable,
               "store redis://" + down + ": session store unavailable: " + down + ": connect: Connection refused");
  }
  SUBCASE("PostgreSQL (when built): no such database") {
    if (LiveStoreUrls().size() <= 2) return;
    std::string url = LiveStoreUrls()[2];
    url.replace(url.find("/postgres"), 9, "/no_such_db");
    const ProcessOutcome run = Jeffctl({"sessions", "list", "k", "--store", url});
    CHECK(run.exit_code == kExitStoreUnavailable);
    CHECK(run.err.find("session store refused the request: ") != std::string::npos);
    CHECK(run.err.find("database \"no_such_db\" does not exist") != std::string::npos);
  }
  SUBCASE("a bad URL says what is wrong with it, by the URL's names") {
    CheckFails(Jeffctl({"sessions", "list", "k", "--store", "redis://" + at + "?timeout=0"}), kExitUsage,
               "store URL option ?timeout=0");
    CheckFails(Jeffctl({"sessions", "list", "k", "--store", "redis://h:70000"}), kExitUsage,
               "invalid store URL redis://h:70000: port 70000 is out of range (1-65535)");
  }
}

TEST_CASE("list: an unknown key, and the in-process memory:// store, find nothing") {
  ProcessOutcome run = Jeffctl({"sessions", "list", "nobody@example.com", "--store", LiveStoreUrls()[1]});
  CheckFails(run, kExitFailure, "no live session");
  run = Jeffctl({"sessions", "list", "nobody@example.com", "--store", "memory://"});
  CHECK(run.exit_code == kExitFailure);
  CHECK(run.err.find("memory://") != std::string::npos);
}

TEST_CASE("list reads records encrypted at rest with the ring from JEFF_AT_REST_KEYS, and only then") {
  const std::string key_bytes(kAtRestKeyBytes, 'r');
  const std::string ring = "9:" + Base64UrlEncode(key_bytes);
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    Options options;
    options.at_rest.keys = {AtRestKey{9, key_bytes}};
    Sessions sessions = SessionsAt(url, options);
    const std::string key = "list-sealed@example.com";
    REQUIRE(sessions.Set(key, "sealed laptop").ok());

    const ProcessOutcome run = Jeffctl({"sessions", "list", key, "--store", url}, {}, {{"JEFF_AT_REST_KEYS", ring}});
    CHECK(run.exit_code == kExitOk);
    const std::vector<json> lines = JsonLines(run.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["key"] == key);
    CHECK(lines[0]["meta"] == "sealed laptop");
    // Without the ring: a store error naming the missing key, never "no sessions".
    const ProcessOutcome blind = Jeffctl({"sessions", "list", key, "--store", url});
    CHECK(blind.exit_code == kExitStoreUnavailable);
    CHECK(blind.err.find("not in the at-rest key ring") != std::string::npos);
    // A malformed ring is a usage error.
    CHECK(Jeffctl({"sessions", "list", key, "--store", url}, {}, {{"JEFF_AT_REST_KEYS", "9:short"}}).exit_code ==
          kExitUsage);
  }
}

}  // namespace
}  // namespace jeff::test
