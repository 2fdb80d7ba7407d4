// End-to-end: `jeffctl sessions revoke` as a child process against sessions
// that this test process created, and checks, in a real redis-server and
// memcached.

#include <doctest/doctest.h>

#include "tools/jeffctl_support.hpp"

#include <jeff/token.hpp>

#include <cctype>
#include <string>
#include <vector>

namespace jeff::test {
namespace {

using nlohmann::json;

TEST_CASE("revoke without ids ends every session of the key, and only that key's") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    Sessions sessions = SessionsAt(url);
    const std::string key = "revoke-all@example.com";
    std::vector<Issued> issued;
    for (const char* device : {"laptop", "phone", "tablet"}) issued.push_back(sessions.Set(key, device).value());
    const Issued bystander = sessions.Set("revoke-bystander@example.com").value();

    const ProcessOutcome run = Jeffctl({"sessions", "revoke", key, "--store", url});
    CHECK(run.exit_code == kExitOk);
    CHECK(run.err == "");
    CHECK(JsonLines(run.out) == std::vector<json>{json{{"revoked", 3}}});
    for (const Issued& i : issued) CHECK(sessions.Check(CookieOf(i)).status == CheckStatus::kUnknown);
    CHECK(sessions.Check(CookieOf(bystander)).ok());
    CHECK(Jeffctl({"sessions", "list", key, "--store", url}).exit_code == kExitFailure);

    // Nothing left: says so, and exits 1.
    const ProcessOutcome again = Jeffctl({"sessions", "revoke", key, "--store", url});
    CHECK(again.exit_code == kExitFailure);
    CHECK(JsonLines(again.out) == std::vector<json>{json{{"revoked", 0}}});
    CHECK(again.err.find("no live session to revoke. If the application has some, jeffctl is looking in the "
                         "wrong place: the store URL, --prefix (here jeff:) and --pepper (here none)") !=
          std::string::npos);
  }
}

TEST_CASE("revoke --id ends the listed sessions only") {
  for (const std::string& url : LiveStoreUrls()) {
    CAPTURE(url);
    Sessions sessions = SessionsAt(url);
    const std::string key = "revoke-some@example.com";
    std::vector<Issued> issued;
    for (const char* device : {"laptop", "phone", "tablet"}) issued.push_back(sessions.Set(key, device).value());
    const std::string unknown_id = FormatSessionId(NewSessionId());

    // Ids as `sessions list` prints them; an upper-case spelling works too.
    std::string upper = FormatSessionId(issued[2].session.id);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const ProcessOutcome run = Jeffctl({"sessions", "revoke", key, "--store", url, "--id",
                                        FormatSessionId(issued[0].session.id), "--id=" + upper, "--id",
                                        unknown_id});
    CHECK(run.exit_code == kExitOk);
    CHECK(JsonLines(run.out) == std::vector<json>{json{{"revoked", 2}}});
    CHECK(sessions.Check(CookieOf(issued[0])).status == CheckStatus::kUnknown);
    CHECK(sessions.Check(CookieOf(issued[1])).ok());
    CHECK(sessions.Check(CookieOf(issued[2])).status == CheckStatus::kUnknown);

    const ProcessOutcome list = Jeffctl({"sessions", "list", key, "--store", url});
    REQUIRE(list.exit_code == kExitOk);
    const std::vector<json> lines = JsonLines(list.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["id"] == FormatSessionId(issued[1].session.id));

    const ProcessOutcome none = Jeffctl({"sessions", "revoke", key, "--store", url, "--id", unknown_id});
    CHECK(none.exit_code == kExitFailure);
    CHECK(JsonLines(none.out) == std::vector<json>{json{{"revoked", 0}}});
    CHECK(sessions.Check(CookieOf(issued[1])).ok());
    // The key has a live session, just not that one: jeffctl says so, and
    // does not suggest that it looked in the wrong place.
    CHECK(none.err == "jeffctl: no session with the given id; this key has 1 live session (see "
                      "'jeffctl sessions list KEY' for their ids)\n");
  }
}

TEST_CASE("during a pepper rotation, --read-pepper reaches the sessions stored under the old pepper") {
  const std::string url = LiveStoreUrls()[1];
  Options old_ring;
  old_ring.pepper = "old-pepper";
  Options new_ring;
  new_ring.pepper = "new-pepper";
  new_ring.read_peppers = {"old-pepper"};
  Sessions before = SessionsAt(url, old_ring);
  Sessions after = SessionsAt(url, new_ring);
  const std::string key = "revoke-rotated@example.com";
  const Issued old_session = before.Set(key).value();
  const Issued new_session = after.Set(key).value();

  const ProcessOutcome run = Jeffctl(
      {"sessions", "revoke", key, "--store", url, "--pepper", "new-pepper", "--read-pepper", "old-pepper"});
  CHECK(run.exit_code == kExitOk);
  CHECK(JsonLines(run.out) == std::vector<json>{json{{"revoked", 2}}});
  CHECK(after.Check(CookieOf(old_session)).status == CheckStatus::kUnknown);
  CHECK(after.Check(CookieOf(new_session)).status == CheckStatus::kUnknown);
}

TEST_CASE("revoke uses the application's prefix and pepper, from flags or environment") {
  const std::string url = LiveStoreUrls()[1];
  Options options;
  options.key_prefix = "app1/";
  options.pepper = "revoke-pepper";
  Sessions sessions = SessionsAt(url, options);
  const std::string key = "revoke-peppered@example.com";
  const Issued issued = sessions.Set(key).value();

  CHECK(Jeffctl({"sessions", "revoke", key, "--store", url}).exit_code == kExitFailure);
  CHECK(sessions.Check(CookieOf(issued)).ok());
  const ProcessOutcome run = Jeffctl({"sessions", "revoke", key, "--prefix", "app1/"}, {},
                                     {{"JEFF_STORE", url}, {"JEFF_PEPPER", "revoke-pepper"}});
  CHECK(run.exit_code == kExitOk);
  CHECK(JsonLines(run.out) == std::vector<json>{json{{"revoked", 1}}});
  CHECK(sessions.Check(CookieOf(issued)).status == CheckStatus::kUnknown);
}

TEST_CASE("revoke exits 3 when the store is down, and the session survives") {
  for (OwnServer& server : StartOwnServers()) {
    CAPTURE(server.url);
    Sessions sessions = SessionsAt(server.setup_url);
    const std::string key = "revoke-down@example.com";
    const Issued issued = sessions.Set(key).value();
    const std::string says = "store " + server.scheme + "://";
    server.process->Pause();
    CheckFails(Jeffctl({"sessions", "revoke", key, "--store", server.url}), kExitStoreUnavailable, says);
    CheckFails(Jeffctl({"sessions", "revoke", key, "--store", server.url, "--id",
                        FormatSessionId(issued.session.id)}),
               kExitStoreUnavailable, says);
    server.process->Resume();
    CHECK(sessions.Check(CookieOf(issued)).ok());
    server.process->Kill();
    CheckFails(Jeffctl({"sessions", "revoke", key, "--store", server.url}), kExitStoreUnavailable, says);
  }
}

TEST_CASE("revoke refuses ids that are not session ids before touching the store") {
  const std::string url = LiveStoreUrls()[0];
  Sessions sessions = SessionsAt(url);
  const std::string key = "revoke-bad-id@example.com";
  const Issued issued = sessions.Set(key).value();
  for (const std::string& bad : {std::string("not-a-uuid"), std::string(""),
                                 FormatSessionId(issued.session.id) + "0"}) {
    CAPTURE(bad);
    const ProcessOutcome run = Jeffctl({"sessions", "revoke", key, "--store", url, "--id", bad});
    CheckFails(run, kExitUsage, "--id");
  }
  CHECK(sessions.Check(CookieOf(issued)).ok());
}

}  // namespace
}  // namespace jeff::test
