#pragma once
// Test support: a DBSC browser (cookie jar, device key, session id) that
// speaks the protocol as Chromium 156 does, and the registration -> refresh
// -> revocation flow every store and both drivers must pass.
//
// `Api` is anything with Sessions' synchronous signatures (Sessions itself,
// or BlockingAsync around an AsyncSessions).

#include <jeff/clock.hpp>
#include <jeff/sessions.hpp>

#include "support/cookies.hpp"
#include "support/dbsc_test_key.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace jeff::test {

// The value of response header `name` (empty when absent).
inline std::string HeaderOf(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

// The quoted parameter `name` (`;name="..."`) of a structured header value.
inline std::string ParamOf(std::string_view header, std::string_view name) {
  const std::string needle = ";" + std::string(name) + "=\"";
  const std::size_t at = header.find(needle);
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + needle.size();
  return std::string(header.substr(start, header.find('"', start) - start));
}

// The challenge of a Secure-Session-Challenge value `"<nonce>";id="<id>"`.
inline std::string ChallengeOf(std::string_view header) {
  if (header.size() < 2 || header.front() != '"') return {};
  return std::string(header.substr(1, header.find('"', 1) - 1));
}

struct DbscBrowser {
  DbscTestKey key = DbscTestKey::Es256();
  std::string session_cookie;  // "jeff_session=..."
  std::string bound_cookie;    // "jeff_bound=..." or empty
  std::string session_id;      // from the session configuration
  std::string registration_challenge;

  std::string CookieHeader() const {
    return bound_cookie.empty() ? session_cookie : session_cookie + "; " + bound_cookie;
  }

  // The login response: the session cookie and the registration invitation.
  void Login(const Issued& issued) {
    session_cookie = CookieOf(issued);
    const std::string registration = HeaderOf(issued.headers, "Secure-Session-Registration");
    REQUIRE(registration.rfind("(ES256 RS256);", 0) == 0);
    registration_challenge = ParamOf(registration, "challenge");
    REQUIRE_FALSE(registration_challenge.empty());
  }

  // A 200 from registration or refresh: the configuration and the cookie.
  void Accept(const DeviceBindingResponse& response) {
    REQUIRE(response.status == 200);
    const nlohmann::json config = nlohmann::json::parse(response.body);
    REQUIRE(config.contains("session_identifier"));
    session_id = config["session_identifier"].get<std::string>();
    REQUIRE(response.set_cookie.size() == 1);
    bound_cookie = CookieHeaderOf(response.set_cookie.front());
  }
};

// Registers `browser`'s key with the registration proof Chromium sends.
template <typename Api>
DeviceBindingResponse Register(Api& api, DbscBrowser& browser) {
  auto response = api.RegisterDevice(browser.session_cookie, browser.key.Registration(browser.registration_challenge));
  REQUIRE(response.ok());
  if (response->status == 200) browser.Accept(*response);
  return *response;
}

// The two-step refresh: 403 with a challenge, then the signed answer.
template <typename Api>
DeviceBindingResponse Refresh(Api& api, DbscBrowser& browser) {
  auto first = api.RefreshDevice(browser.session_cookie, browser.session_id, "");
  REQUIRE(first.ok());
  if (first->status != 403) return *first;
  const std::string challenge = ChallengeOf(HeaderOf(first->headers, "Secure-Session-Challenge"));
  REQUIRE_FALSE(challenge.empty());
  auto second = api.RefreshDevice(browser.session_cookie, browser.session_id, browser.key.Refresh(challenge));
  REQUIRE(second.ok());
  if (second->status == 200) browser.Accept(*second);
  return *second;
}

// True when `response` tells the browser to end its DBSC session: naming
// the session it ends when the request named one jeff can read (without the
// name Chromium files the end as a malformed configuration), else bare.
inline bool Ended(const DeviceBindingResponse& response, std::string_view session_id = {}) {
  if (response.status != 200) return false;
  if (!jeff::ParseSessionId(session_id)) return response.body == R"({"continue":false})";
  return response.body == R"({"session_identifier":")" + std::string(session_id) + R"(","continue":false})";
}

// Login, registration, Check with and without the bound cookie, expiry of
// the bound cookie, refreshes, revocation ending the next refresh.
// Options: device_binding on with the default lifetimes; `clock` drives them.
template <typename Api>
void RunDbscFlow(Api& api, ManualClock& clock) {
  using namespace std::chrono_literals;
  DbscBrowser browser;
  auto issued = api.Set("alice@example.com", "laptop");
  REQUIRE(issued.ok());
  browser.Login(*issued);

  // Before registration the session is a plain one.
  CHECK(api.Check(browser.CookieHeader()).ok());
  const DeviceBindingResponse registered = Register(api, browser);
  REQUIRE(registered.status == 200);
  CHECK(HeaderOf(registered.headers, "Content-Type") == "application/json");
  CHECK(HeaderOf(registered.headers, "Cache-Control") == "no-store");
  CHECK(browser.session_id == FormatSessionId(issued->session.id));
  const nlohmann::json config = nlohmann::json::parse(registered.body);
  CHECK(config["refresh_url"] == "/.well-known/dbsc/refresh");
  CHECK(config["credentials"][0]["type"] == "cookie");
  CHECK(config["credentials"][0]["name"] == "jeff_bound");
  CHECK(config["scope"]["include_site"] == false);
  CHECK(registered.set_cookie.front().find("Max-Age=600") != std::string::npos);

  // Bound: the long-lived cookie alone no longer serves requests.
  const CheckResult bound = api.Check(browser.CookieHeader());
  REQUIRE(bound.ok());
  CHECK(bound.session.device_bound);
  CHECK(api.Check(browser.session_cookie).status == CheckStatus::kDeviceProofRequired);
  auto listed = api.SessionsForKey("alice@example.com");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().device_bound);

  // The registration challenge was single use.
  auto replayed =
      api.RegisterDevice(browser.session_cookie, browser.key.Registration(browser.registration_challenge));
  REQUIRE(replayed.ok());
  CHECK(replayed->status == 403);

  // Several refreshes as the bound cookie runs out; each old cookie stops
  // at its own expiry.
  for (int i = 0; i < 3; ++i) {
    clock.Advance(i == 0 ? 9min : 7min);  // a minute before the bound cookie ends
    const std::string previous = browser.bound_cookie;
    REQUIRE(Refresh(api, browser).status == 200);
    CHECK(browser.bound_cookie != previous);
    CHECK(api.Check(browser.CookieHeader()).ok());
    CHECK(api.Check(browser.session_cookie + "; " + previous).ok());  // in flight, still live
    clock.Advance(2min);
    CHECK(api.Check(browser.session_cookie + "; " + previous).status == CheckStatus::kDeviceProofRequired);
    CHECK(api.Check(browser.CookieHeader()).ok());
  }
  // A stolen session cookie with a stale bound cookie: refused.
  clock.Advance(11min);
  CHECK(api.Check(browser.CookieHeader()).status == CheckStatus::kDeviceProofRequired);
  REQUIRE(Refresh(api, browser).status == 200);
  CHECK(api.Check(browser.CookieHeader()).ok());

  // Logout ends the DBSC session at its next refresh.
  auto cleared = api.Clear(browser.CookieHeader());
  REQUIRE(cleared.ok());
  const DeviceBindingResponse after_clear = Refresh(api, browser);
  CHECK(Ended(after_clear, browser.session_id));
  REQUIRE(after_clear.set_cookie.size() == 1);
  CHECK(after_clear.set_cookie.front().find("jeff_bound=;") == 0);
  CHECK(api.Check(browser.CookieHeader()).status == CheckStatus::kUnknown);

  // Revocation (Delete) too, for a second login bound with an RSA key.
  DbscBrowser rsa;
  rsa.key = DbscTestKey::Rs256();
  auto second = api.Set("alice@example.com", "desktop");
  REQUIRE(second.ok());
  rsa.Login(*second);
  REQUIRE(Register(api, rsa).status == 200);
  CHECK(api.Check(rsa.CookieHeader()).ok());
  REQUIRE(Refresh(api, rsa).status == 200);
  auto deleted = api.Delete("alice@example.com");
  REQUIRE(deleted.ok());
  CHECK(Ended(Refresh(api, rsa), rsa.session_id));
}

// Two threads refreshing `browser`'s bound session through `a` and `b`
// (two servers, or one) while a third logs `key` in again and again (the
// same record): every refresh answers 200 or 403 (another thread's
// challenge replaced its own: one is outstanding at a time), never an
// error, and afterwards the session is still bound and refreshes.
inline void RunRefreshRace(Sessions& a, Sessions& b, DbscBrowser& browser, std::string_view key, int rounds) {
  std::atomic<int> refreshed{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      Sessions& sessions = t == 1 ? b : a;
      for (int i = 0; i < rounds; ++i) {
        if (t == 2) {
          if (!sessions.Set(key, "").ok()) failed = true;
          continue;
        }
        auto challenge = sessions.RefreshDevice(browser.session_cookie, browser.session_id, "");
        if (!challenge.ok() || challenge->status != 403) {
          failed = true;
          continue;
        }
        const std::string nonce = ChallengeOf(HeaderOf(challenge->headers, "Secure-Session-Challenge"));
        auto answer = sessions.RefreshDevice(browser.session_cookie, browser.session_id, browser.key.Refresh(nonce));
        if (!answer.ok() || (answer->status != 200 && answer->status != 403)) failed = true;
        if (answer.ok() && answer->status == 200) ++refreshed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK_FALSE(failed);
  CHECK(refreshed > 0);
  CHECK(a.Check(browser.session_cookie).status == CheckStatus::kDeviceProofRequired);
  REQUIRE(Refresh(b, browser).status == 200);
  const CheckResult checked = a.Check(browser.CookieHeader());
  REQUIRE(checked.ok());
  CHECK(checked.session.device_bound);
}

}  // namespace jeff::test
