// The framework-free HTTP policy (jeff/http/policy.hpp): no server, no
// framework; a real Sessions over a MemoryStore where a check is needed.

#include <doctest/doctest.h>
#include <jeff/http/policy.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"
#include "support/dbsc_flow.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace {

using jeff::http::Access;
using jeff::http::Decision;
using Outcome = jeff::http::Decision::Outcome;

std::string Header(const jeff::http::Reply& reply, const std::string& name) {
  for (const auto& [n, v] : reply.headers) {
    if (n == name) return v;
  }
  return "(absent)";
}

jeff::http::PolicyOptions WithOrigins() {
  jeff::http::PolicyOptions options;
  options.allowed_origins = {"https://app.example"};
  return options;
}

jeff::CheckResult Found(jeff::CheckStatus status) {
  jeff::CheckResult checked;
  checked.status = status;
  checked.set_cookie = {"refreshed=1; Path=/"};
  if (status == jeff::CheckStatus::kOk) checked.session.key = "ann";
  if (status == jeff::CheckStatus::kStoreError) checked.error = jeff::Errc::kStoreUnavailable;
  return checked;
}

}  // namespace

TEST_CASE("BeforeCheck: unsafe methods on session routes need an allowed origin") {
  const auto options = WithOrigins();
  jeff::http::RequestView request;
  request.method = "POST";

  SUBCASE("no Origin, no Sec-Fetch-Site: 403 saying the header is missing") {
    auto refused = jeff::http::BeforeCheck(request, options, Access::kSession);
    REQUIRE(refused.has_value());
    CHECK(refused->outcome == Outcome::kForbidden);
    CHECK_FALSE(refused->run_handler());
    CHECK(refused->reply.status == 403);
    CHECK(refused->reply.content_type == "text/plain");
    CHECK(refused->reply.body.find("no Origin header") != std::string::npos);
    CHECK(refused->reply.body.find("Cross-site") == std::string::npos);
    CHECK(refused->reply.body == jeff::http::OriginRefusal(jeff::CsrfVerdict::kMissingOrigin));
  }
  SUBCASE("a foreign Origin: 403 saying it is cross-site") {
    request.origin = "https://evil.example";
    auto refused = jeff::http::BeforeCheck(request, options, Access::kSession);
    REQUIRE(refused.has_value());
    CHECK(refused->reply.status == 403);
    CHECK(refused->reply.body ==
          "Cross-site request refused: its Origin is not one this site accepts.\n");
    CHECK(refused->reply.headers.empty());
  }
  SUBCASE("an allowed Origin, or same-origin Sec-Fetch-Site, goes on") {
    request.origin = "https://app.example";
    CHECK_FALSE(jeff::http::BeforeCheck(request, options, Access::kSession).has_value());
    request.origin = {};
    request.sec_fetch_site = "same-origin";
    CHECK_FALSE(jeff::http::BeforeCheck(request, options, Access::kSession).has_value());
  }
  SUBCASE("safe methods, Public routes and an empty list are never refused") {
    request.origin = "https://evil.example";
    CHECK_FALSE(jeff::http::BeforeCheck(request, options, Access::kPublic).has_value());
    CHECK_FALSE(jeff::http::BeforeCheck(request, {}, Access::kSession).has_value());
    request.method = "GET";
    CHECK_FALSE(jeff::http::BeforeCheck(request, options, Access::kSession).has_value());
  }
}

TEST_CASE("AfterCheck: run the handler, or 503 / 302 / 401, always with Set-Cookie") {
  jeff::http::PolicyOptions options;
  options.retry_after = std::chrono::seconds(7);
  options.unauthorized_redirect = "/login";

  SUBCASE("a live session runs the handler") {
    Decision d = jeff::http::AfterCheck(Found(jeff::CheckStatus::kOk), options, Access::kSession);
    CHECK(d.run_handler());
    CHECK(d.checked.session.key == "ann");
    CHECK(d.reply.set_cookie == std::vector<std::string>{"refreshed=1; Path=/"});
    CHECK(d.checked.set_cookie == d.reply.set_cookie);
  }
  SUBCASE("a store failure is 503 with Retry-After, never a redirect") {
    Decision d =
        jeff::http::AfterCheck(Found(jeff::CheckStatus::kStoreError), options, Access::kSession);
    CHECK(d.outcome == Outcome::kStoreError);
    CHECK(d.checked.error == jeff::Errc::kStoreUnavailable);
    CHECK(d.reply.status == 503);
    CHECK(Header(d.reply, "Retry-After") == "7");
    CHECK(Header(d.reply, "Cache-Control") == "no-store");
    CHECK(Header(d.reply, "Location") == "(absent)");
    CHECK(d.reply.body == "Service temporarily unavailable, please retry.\n");
    CHECK(d.reply.content_type == "text/plain");
    CHECK(d.reply.set_cookie.size() == 1);
  }
  SUBCASE("no session: 302 to the redirect, or 401 without one") {
    // kDeviceProofRequired: a bound session without its bound cookie. A DBSC
    // browser renews that cookie before it sends the request; one that
    // still comes without it is a copied cookie or an ended binding.
    for (auto status : {jeff::CheckStatus::kAbsent, jeff::CheckStatus::kMalformed,
                        jeff::CheckStatus::kExpired, jeff::CheckStatus::kUnknown,
                        jeff::CheckStatus::kDeviceProofRequired}) {
      CAPTURE(jeff::ToString(status));
      Decision d = jeff::http::AfterCheck(Found(status), options, Access::kSession);
      CHECK(d.outcome == Outcome::kUnauthorized);
      CHECK(d.reply.status == 302);
      CHECK(Header(d.reply, "Location") == "/login");
      CHECK(d.reply.body.empty());
      CHECK(d.reply.set_cookie.size() == 1);
    }
    options.unauthorized_redirect.clear();
    Decision d = jeff::http::AfterCheck(Found(jeff::CheckStatus::kAbsent), options, Access::kSession);
    CHECK(d.reply.status == 401);
    CHECK(Header(d.reply, "Location") == "(absent)");
    CHECK(Header(d.reply, "Cache-Control") == "no-store");
    CHECK_FALSE(d.reply.body.empty());
  }
  SUBCASE("Public runs the handler whatever Check found") {
    for (auto status : {jeff::CheckStatus::kAbsent, jeff::CheckStatus::kStoreError}) {
      Decision d = jeff::http::AfterCheck(Found(status), options, Access::kPublic);
      CHECK(d.run_handler());
      CHECK(d.checked.status == status);
      CHECK(d.reply.set_cookie.size() == 1);
    }
  }
}

TEST_CASE("Step-up: a session authenticated longer ago than max_authentication_age must sign in again") {
  using namespace std::chrono_literals;
  jeff::ManualClock clock;
  jeff::http::PolicyOptions options;
  options.clock = clock.AsClock();
  jeff::CheckResult found = Found(jeff::CheckStatus::kOk);
  found.session.authenticated_at = clock.Now() - 10min;

  CHECK_FALSE(jeff::http::NeedsReauthentication(found.session, 10min, clock.Now()));
  CHECK(jeff::http::NeedsReauthentication(found.session, 10min, clock.Now() + 1ms));
  CHECK_FALSE(jeff::http::NeedsReauthentication(found.session, 0s, clock.Now() + 1000h));

  SUBCASE("0 (the default): any age runs the handler") {
    CHECK(jeff::http::AfterCheck(found, options, Access::kSession).run_handler());
  }
  SUBCASE("within the age: the handler runs") {
    options.max_authentication_age = 10min;
    CHECK(jeff::http::AfterCheck(found, options, Access::kSession).run_handler());
  }
  SUBCASE("older: 401 without a redirect, 302 with one; Set-Cookie still sent") {
    options.max_authentication_age = 10min;
    clock.Advance(1s);
    Decision d = jeff::http::AfterCheck(found, options, Access::kSession);
    CHECK(d.outcome == Outcome::kReauthenticate);
    CHECK(d.checked.session.key == "ann");
    CHECK(d.reply.status == 401);
    CHECK(Header(d.reply, "Cache-Control") == "no-store");
    CHECK(d.reply.body == "Please sign in again to continue.\n");
    CHECK(d.reply.set_cookie.size() == 1);
    options.reauthenticate_redirect = "/confirm-password";
    d = jeff::http::AfterCheck(found, options, Access::kSession);
    CHECK(d.outcome == Outcome::kReauthenticate);
    CHECK(d.reply.status == 302);
    CHECK(Header(d.reply, "Location") == "/confirm-password");
    // Public routes never answer for the handler.
    CHECK(jeff::http::AfterCheck(found, options, Access::kPublic).run_handler());
  }
}

TEST_CASE("Decide: the whole policy around a real Sessions") {
  jeff::Options session_options;
  session_options.store = std::make_shared<jeff::MemoryStore>();
  session_options.insecure = true;
  session_options.logger = [](std::string_view) {};
  jeff::Sessions sessions(session_options);
  auto issued = sessions.Set("zoe", "test");
  REQUIRE(issued.ok());
  const std::string cookie = "a=b; " + jeff::test::CookieOf(*issued);

  auto options = WithOrigins();
  jeff::http::RequestView request;
  request.method = "GET";
  request.cookie = cookie;

  Decision ok = jeff::http::Decide(sessions, request, options, Access::kSession);
  CHECK(ok.run_handler());
  CHECK(ok.checked.session.key == "zoe");

  request.cookie = {};
  Decision anonymous = jeff::http::Decide(sessions, request, options, Access::kSession);
  CHECK(anonymous.outcome == Outcome::kUnauthorized);
  CHECK(Header(anonymous.reply, "Location") == "/");

  // Refused before the check: the valid cookie is never looked at.
  request.cookie = cookie;
  request.method = "DELETE";
  request.origin = "https://evil.example";
  Decision forged = jeff::http::Decide(sessions, request, options, Access::kSession);
  CHECK(forged.outcome == Outcome::kForbidden);
  CHECK(forged.checked.status == jeff::CheckStatus::kAbsent);

  SUBCASE("bearer: the Authorization header is checked instead of the cookie") {
    request.method = "GET";
    request.authorization = "Bearer not-a-token";
    CHECK_FALSE(jeff::http::ChecksBearer(request, options));
    CHECK(jeff::http::Decide(sessions, request, options, Access::kSession).run_handler());
    options.bearer = true;
    CHECK(jeff::http::ChecksBearer(request, options));
    // Not a token: no session.
    CHECK(jeff::http::Decide(sessions, request, options, Access::kSession).outcome ==
          Outcome::kUnauthorized);
    // A stateful session's token; the origin check is for cookies only (a
    // browser never sends the header by itself), a cookie still gets it.
    const std::string bearer = "Bearer " + issued->token;
    request.authorization = bearer;
    request.method = "DELETE";
    request.origin = "https://evil.example";
    Decision api = jeff::http::Decide(sessions, request, options, Access::kSession);
    CHECK(api.run_handler());
    CHECK(api.checked.session.key == "zoe");
    options.bearer = false;
    CHECK(jeff::http::Decide(sessions, request, options, Access::kSession).outcome == Outcome::kForbidden);
    options.bearer = true;
    request.method = "GET";
    request.origin = {};
    request.authorization = {};
    CHECK_FALSE(jeff::http::ChecksBearer(request, options));
    CHECK(jeff::http::Decide(sessions, request, options, Access::kSession).run_handler());
  }
}

TEST_CASE("DeviceBindingReply: the core's answer as it is; a store failure is 503") {
  SUBCASE("status, headers, Set-Cookie and body pass through; Content-Type goes with the body") {
    jeff::DeviceBindingResponse answer;
    answer.status = 403;
    answer.headers = {{"Secure-Session-Challenge", "\"n\";id=\"s\""},
                      {"content-type", "application/json"},
                      {"Cache-Control", "no-store"}};
    answer.set_cookie = {"jeff_bound=x; Path=/"};
    answer.body = "{}";
    const jeff::http::Reply reply = jeff::http::DeviceBindingReply(answer, std::chrono::seconds(7));
    CHECK(reply.status == 403);
    CHECK(reply.headers == std::vector<std::pair<std::string, std::string>>{
                               {"Secure-Session-Challenge", "\"n\";id=\"s\""},
                               {"Cache-Control", "no-store"}});
    CHECK(reply.content_type == "application/json");
    CHECK(reply.set_cookie == answer.set_cookie);
    CHECK(reply.body == "{}");
  }
  SUBCASE("a store failure: 503 with Retry-After (Chromium keeps the session, tries later)") {
    const jeff::http::Reply reply = jeff::http::DeviceBindingReply(
        jeff::Result<jeff::DeviceBindingResponse>(jeff::Errc::kStoreUnavailable), std::chrono::seconds(7));
    CHECK(reply.status == 503);
    CHECK(Header(reply, "Retry-After") == "7");
    CHECK(reply.set_cookie.empty());
  }
  SUBCASE("device binding off (kUnsupported): 404, as if there were no endpoint") {
    const jeff::http::Reply reply = jeff::http::DeviceBindingReply(
        jeff::Result<jeff::DeviceBindingResponse>(jeff::Errc::kUnsupported), std::chrono::seconds(7));
    CHECK(reply.status == 404);
    CHECK(reply.body.empty());
  }
}

TEST_CASE("AnswerDeviceBinding: registration and refresh through a real Sessions") {
  jeff::Options session_options;
  session_options.store = std::make_shared<jeff::MemoryStore>();
  session_options.logger = [](std::string_view) {};
  session_options.device_binding.enabled = true;
  jeff::Sessions sessions(session_options);
  auto issued = sessions.Set("zoe", "test");
  REQUIRE(issued.ok());
  const std::string registration = jeff::test::HeaderOf(issued->headers, "Secure-Session-Registration");
  const std::string long_cookie = jeff::test::CookieOf(*issued);
  const auto key = jeff::test::DbscTestKey::Es256();
  const auto seconds = std::chrono::seconds(1);
  using jeff::http::DeviceEndpoint;

  jeff::http::RequestView request;
  request.method = "POST";
  request.cookie = long_cookie;
  const std::string proof = key.Registration(jeff::test::ParamOf(registration, "challenge"));
  request.secure_session_response = proof;
  const jeff::http::Reply registered =
      jeff::http::AnswerDeviceBinding(sessions, DeviceEndpoint::kRegistration, request, seconds);
  REQUIRE(registered.status == 200);
  CHECK(registered.content_type == "application/json");
  REQUIRE(registered.set_cookie.size() == 1);
  CHECK(registered.set_cookie.front().rfind("jeff_bound=", 0) == 0);
  const std::string id = nlohmann::json::parse(registered.body).at("session_identifier");

  // Bound: the session cookie alone is no longer in.
  CHECK(jeff::http::Decide(sessions, request, {}, Access::kSession).outcome == Outcome::kUnauthorized);
  const std::string both = long_cookie + "; " + jeff::test::CookieHeaderOf(registered.set_cookie.front());
  request.cookie = both;
  CHECK(jeff::http::Decide(sessions, request, {}, Access::kSession).run_handler());

  // Refresh: a challenge first, then the signed proof.
  request.cookie = long_cookie;
  request.secure_session_id = id;
  request.secure_session_response = {};
  const jeff::http::Reply challenge =
      jeff::http::AnswerDeviceBinding(sessions, DeviceEndpoint::kRefresh, request, seconds);
  CHECK(challenge.status == 403);
  const std::string nonce = jeff::test::ChallengeOf(Header(challenge, "Secure-Session-Challenge"));
  REQUIRE_FALSE(nonce.empty());
  const std::string refresh_proof = key.Refresh(nonce);
  request.secure_session_response = refresh_proof;
  const jeff::http::Reply refreshed =
      jeff::http::AnswerDeviceBinding(sessions, DeviceEndpoint::kRefresh, request, seconds);
  CHECK(refreshed.status == 200);
  CHECK(refreshed.set_cookie.size() == 1);
}
