// DBSC on Sessions over the memory store: the flow, hostile proofs, options,
// DBSC off exactly as before, metrics, and concurrent refreshes.
#include <doctest/doctest.h>
#include <jeff/detail/record.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/dbsc_flow.hpp"
#include "support/memory_fixture.hpp"

#include <stdexcept>

using namespace std::chrono_literals;
using jeff::CheckStatus;
using jeff::test::B64;
using jeff::test::ChallengeOf;
using jeff::test::DbscBrowser;
using jeff::test::DbscTestKey;
using jeff::test::HeaderOf;

namespace {

struct Fixture : jeff::test::MemoryFixture {
  Fixture() { options.device_binding.enabled = true; }
};

// A logged-in browser, registered.
DbscBrowser Bound(jeff::Sessions& sessions, std::string_view key = "alice") {
  DbscBrowser browser;
  auto issued = sessions.Set(key, "");
  REQUIRE(issued.ok());
  browser.Login(*issued);
  REQUIRE(jeff::test::Register(sessions, browser).status == 200);
  return browser;
}

// The refresh challenge the server hands out for `browser`.
std::string RefreshChallenge(jeff::Sessions& sessions, const DbscBrowser& browser) {
  auto first = sessions.RefreshDevice(browser.session_cookie, browser.session_id, "");
  REQUIRE(first.ok());
  REQUIRE(first->status == 403);
  CHECK(jeff::test::ParamOf(HeaderOf(first->headers, "Secure-Session-Challenge"), "id") == browser.session_id);
  return ChallengeOf(HeaderOf(first->headers, "Secure-Session-Challenge"));
}

int RefreshStatus(jeff::Sessions& sessions, const DbscBrowser& browser, std::string_view proof) {
  auto response = sessions.RefreshDevice(browser.session_cookie, browser.session_id, proof);
  REQUIRE(response.ok());
  return response->status;
}

}  // namespace

TEST_CASE("registration, refreshes, Check with and without the bound cookie, Clear and Delete") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  jeff::test::RunDbscFlow(sessions, f.clock);
}

TEST_CASE("DBSC off: no registration header, v1 records, endpoints unsupported") {
  Fixture f;
  f.options.device_binding.enabled = false;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("alice", "");
  REQUIRE(issued.ok());
  CHECK(issued->headers.empty());
  auto stored = f.store->Fetch(f.options.key_prefix + jeff::KeyId("alice"));
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  CHECK(static_cast<unsigned char>((*stored)->value[1]) == jeff::kRecordFormatV1);
  auto registered = sessions.RegisterDevice(jeff::test::CookieOf(*issued), "x.y.z");
  REQUIRE_FALSE(registered.ok());
  CHECK(registered.error() == jeff::Errc::kUnsupported);
  CHECK(sessions.RefreshDevice(jeff::test::CookieOf(*issued), "", "").error() == jeff::Errc::kUnsupported);
}

TEST_CASE("DBSC turned off after a binding: the session cookie alone serves again") {
  Fixture f;
  DbscBrowser browser;
  {
    jeff::Sessions on(f.options);
    browser = Bound(on);
    CHECK(on.Check(browser.session_cookie).status == CheckStatus::kDeviceProofRequired);
  }
  f.options.device_binding.enabled = false;
  jeff::Sessions off(f.options);
  const jeff::CheckResult checked = off.Check(browser.session_cookie);
  REQUIRE(checked.ok());
  CHECK(checked.session.device_bound);
}

TEST_CASE("hostile registrations are refused and leave the session unbound") {
  Fixture f;
  f.options.metrics = true;
  jeff::Sessions sessions(f.options);
  DbscBrowser browser;
  auto issued = sessions.Set("alice", "");
  REQUIRE(issued.ok());
  browser.Login(*issued);
  const std::string challenge = browser.registration_challenge;
  const DbscTestKey other = DbscTestKey::Es256();
  const auto status = [&](std::string_view cookie, std::string_view proof) {
    auto response = sessions.RegisterDevice(cookie, proof);
    REQUIRE(response.ok());
    return response->status;
  };
  // The header's key did not sign it.
  const std::string header = R"({"alg":"ES256","jwk":)" + browser.key.jwk() + R"(,"typ":"dbsc+jwt"})";
  CHECK(status(browser.session_cookie, other.Sign(header, R"({"jti":")" + challenge + R"("})")) == 403);
  // Wrong challenge, alg none, wrong typ, huge, garbage.
  CHECK(status(browser.session_cookie, browser.key.Registration(B64("not the challenge"))) == 403);
  CHECK(status(browser.session_cookie, B64(R"({"alg":"none","typ":"dbsc+jwt"})") + "." +
                                           B64(R"({"jti":")" + challenge + R"("})") + ".AA") == 403);
  CHECK(status(browser.session_cookie,
               browser.key.Sign(R"({"alg":"ES256","jwk":)" + browser.key.jwk() + R"(,"typ":"JWT"})",
                                R"({"jti":")" + challenge + R"("})")) == 403);
  CHECK(status(browser.session_cookie, std::string(8193, 'a')) == 400);
  CHECK(status(browser.session_cookie, "a.b") == 400);
  // No session cookie, or another session's: nothing to bind.
  CHECK(status("", browser.key.Registration(challenge)) == 401);
  auto other_login = sessions.Set("bob", "");
  REQUIRE(other_login.ok());
  CHECK(status(jeff::test::CookieOf(*other_login), browser.key.Registration(challenge)) == 403);
  // An expired challenge.
  f.clock.Advance(5min);
  CHECK(status(browser.session_cookie, browser.key.Registration(challenge)) == 403);
  CHECK(sessions.Check(browser.session_cookie).ok());  // still a plain session
  CHECK_FALSE(sessions.Check(browser.session_cookie).session.device_bound);
  const jeff::MetricsSnapshot m = sessions.metrics();
  CHECK(m.device_proofs_refused == 8);
  CHECK(m.device_registrations == 0);
}

TEST_CASE("hostile refreshes: replayed, foreign, expired, unsigned; a bound session is never re-bound") {
  Fixture f;
  f.options.metrics = true;
  jeff::Sessions sessions(f.options);
  DbscBrowser browser = Bound(sessions);
  DbscBrowser thief = Bound(sessions, "mallory");

  // A proof without a challenge outstanding, another key's proof, a replay.
  CHECK(RefreshStatus(sessions, browser, browser.key.Refresh(browser.registration_challenge)) == 403);
  std::string challenge = RefreshChallenge(sessions, browser);
  CHECK(RefreshStatus(sessions, browser, thief.key.Refresh(challenge)) == 403);
  CHECK(RefreshStatus(sessions, browser, DbscTestKey::Rs256().Refresh(challenge)) == 403);
  const std::string good = browser.key.Refresh(challenge);
  CHECK(RefreshStatus(sessions, browser, good) == 200);
  CHECK(RefreshStatus(sessions, browser, good) == 403);  // consumed
  // An expired challenge.
  challenge = RefreshChallenge(sessions, browser);
  f.clock.Advance(5min);
  CHECK(RefreshStatus(sessions, browser, browser.key.Refresh(challenge)) == 403);
  // A stolen session cookie cannot bind the thief's key with a refresh challenge.
  challenge = RefreshChallenge(sessions, browser);
  auto rebind = sessions.RegisterDevice(browser.session_cookie, thief.key.Registration(challenge));
  REQUIRE(rebind.ok());
  CHECK(rebind->status == 403);
  CHECK(RefreshStatus(sessions, browser, browser.key.Refresh(challenge)) == 200);
  // Another session's id, an unknown cookie, a malformed id: the browser stops.
  CHECK(jeff::test::Ended(*sessions.RefreshDevice(browser.session_cookie, thief.session_id, ""), thief.session_id));
  CHECK(jeff::test::Ended(*sessions.RefreshDevice("", browser.session_id, ""), browser.session_id));
  CHECK(jeff::test::Ended(*sessions.RefreshDevice(browser.session_cookie, "nope", "")));
  // The bound cookie of one session does not serve another.
  CHECK(sessions.Check(thief.session_cookie + "; " + browser.bound_cookie).status ==
        CheckStatus::kDeviceProofRequired);
  const jeff::MetricsSnapshot m = sessions.metrics();
  CHECK(m.device_registrations == 2);
  CHECK(m.device_refreshes == 2);
  CHECK(m.device_proofs_refused == 6);
  CHECK(m.checks.device_proof_required == 1);
  CHECK(jeff::WritePrometheus(m).find("jeff_device_refreshes_total 2") != std::string::npos);
}

TEST_CASE("an unbound session's refresh ends the browser's DBSC session") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("alice", "");
  REQUIRE(issued.ok());
  const std::string id = jeff::FormatSessionId(issued->session.id);
  auto response = sessions.RefreshDevice(jeff::test::CookieOf(*issued), id, "");
  REQUIRE(response.ok());
  CHECK(jeff::test::Ended(*response, id));
}

TEST_CASE("concurrent refreshes, logins and checks never lose the binding") {
  Fixture f;
  f.options.cas_backoff = 0us;
  f.options.touch_interval = 0s;
  jeff::Sessions sessions(f.options);
  DbscBrowser browser = Bound(sessions);
  jeff::test::RunRefreshRace(sessions, sessions, browser, "alice", 25);
}

TEST_CASE("options: device_binding is validated at construction") {
  Fixture f;
  const auto throws = [&](auto edit) {
    jeff::Options o = f.options;
    edit(o.device_binding, o);
    CHECK_THROWS_AS(jeff::Sessions{o}, std::invalid_argument);
  };
  throws([](auto& db, auto&) { db.registration_path = "dbsc/start"; });
  throws([](auto& db, auto&) { db.refresh_path = "/a\"b"; });
  throws([](auto& db, auto&) { db.refresh_path = "/a b"; });
  throws([](auto& db, auto&) { db.refresh_path = db.registration_path; });
  throws([](auto& db, auto& o) { db.cookie_name = o.cookie.name; });
  throws([](auto& db, auto&) { db.cookie_name = "__Host-bound"; db.cookie_name += " "; });
  throws([](auto& db, auto& o) { db.cookie_name = "__Host-bound"; o.cookie.path = "/app"; });
  throws([](auto& db, auto&) { db.cookie_lifetime = 0s; });
  throws([](auto& db, auto&) { db.cookie_lifetime = 25h; });
  throws([](auto& db, auto&) { db.challenge_lifetime = 0s; });
  throws([](auto& db, auto&) { db.max_proof_bytes = 100; });
  throws([](auto& db, auto&) { db.scope_origin = "https://a b"; });
  // The stateless strategy keeps no device key.
  throws([](auto&, auto& o) {
    o.store = nullptr;
    o.stateless.secrets = {std::string(32, 'k')};
  });
  jeff::Options ok = f.options;
  ok.device_binding.scope_origin = "https://example.com";
  ok.device_binding.include_site = true;
  jeff::Sessions sessions(ok);
  DbscBrowser browser = Bound(sessions);
  CHECK(browser.bound_cookie.rfind("jeff_bound=", 0) == 0);
}

TEST_CASE("the session configuration carries the configured scope and cookie attributes") {
  Fixture f;
  f.options.device_binding.scope_origin = "https://example.com";
  f.options.device_binding.include_site = true;
  f.options.device_binding.cookie_name = "__Host-bound";
  f.options.device_binding.refresh_path = "/dbsc/refresh";
  f.options.device_binding.cookie_lifetime = 90s;
  jeff::Sessions sessions(f.options);
  DbscBrowser browser;
  auto issued = sessions.Set("alice", "");
  REQUIRE(issued.ok());
  browser.Login(*issued);
  auto response = sessions.RegisterDevice(browser.session_cookie, browser.key.Registration(browser.registration_challenge));
  REQUIRE(response.ok());
  REQUIRE(response->status == 200);
  const nlohmann::json config = nlohmann::json::parse(response->body);
  CHECK(config["refresh_url"] == "/dbsc/refresh");
  CHECK(config["scope"]["origin"] == "https://example.com");
  CHECK(config["scope"]["include_site"] == true);
  CHECK(config["credentials"][0]["name"] == "__Host-bound");
  CHECK(config["credentials"][0]["attributes"] == "Path=/; Secure; HttpOnly; SameSite=Lax");
  REQUIRE(response->set_cookie.size() == 1);
  CHECK(response->set_cookie.front().rfind("__Host-bound=", 0) == 0);
  CHECK(response->set_cookie.front().find("Max-Age=90;") != std::string::npos);
}
