// The framework-free HTTP policy (jeff/http/policy.hpp): no server, no
// framework; a real Sessions over a MemoryStore where a check is needed.

#include <doctest/doctest.h>
#include <jeff/http/policy.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"

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
    for (auto status : {jeff::CheckStatus::kAbsent, jeff::CheckStatus::kMalformed,
                        jeff::CheckStatus::kExpired, jeff::CheckStatus::kUnknown}) {
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
    // A stateful Sessions has no bearer tokens: CheckBearer finds nothing.
    CHECK(jeff::http::Decide(sessions, request, options, Access::kSession).outcome ==
          Outcome::kUnauthorized);
    request.authorization = {};
    CHECK_FALSE(jeff::http::ChecksBearer(request, options));
    CHECK(jeff::http::Decide(sessions, request, options, Access::kSession).run_handler());
  }
}
