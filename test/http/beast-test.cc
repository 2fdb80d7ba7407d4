// The Boost.Beast adapter (jeff/http/beast.hpp): Beast requests in, Beast
// responses out, through a real AsyncSessions on an io_context. Stateless
// mode (sessions in an encrypted cookie) needs no store; device binding
// (DBSC) runs on the memory store; store failures are the policy's
// (policy-test.cc) and the Beast example's (a paused Redis).

#include <doctest/doctest.h>
#include <jeff/http/beast.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"
#include "support/dbsc_flow.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

namespace http = boost::beast::http;
namespace jb = jeff::http::beast;
using boost::asio::awaitable;

struct Fixture {
  boost::asio::io_context ioc;
  jeff::AsyncSessions sessions{Options(), nullptr, ioc.get_executor()};

  static jeff::Options Options() {
    jeff::Options options;
    options.stateless.secrets = {std::string(32, 's')};
    options.insecure = true;
    options.logger = [](std::string_view) {};
    return options;
  }

  // Runs `handler` for `req` on the loop and returns the response.
  jb::Response Serve(const jb::Handler& handler, const jb::Request& req) {
    jb::Response res{http::status::ok, 11};
    auto done = boost::asio::co_spawn(ioc, handler(req, res), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    done.get();
    return res;
  }

  // The Cookie header of a new session for `key`.
  std::string LogIn(const std::string& key) {
    auto issued = sessions.Set(key, "test", boost::asio::use_future);
    ioc.restart();
    ioc.run();
    auto result = issued.get();
    REQUIRE(result.ok());
    std::string cookie;
    for (const std::string& set_cookie : result->set_cookie) {
      cookie += (cookie.empty() ? "" : "; ") + set_cookie.substr(0, set_cookie.find(';'));
    }
    return cookie;
  }
};

jb::Request Req(http::verb method, const std::string& cookie = "") {
  jb::Request req{method, "/private", 11};
  if (!cookie.empty()) req.set(http::field::cookie, cookie);
  return req;
}

std::string Field(const jb::Response& res, http::field name) { return std::string(res[name]); }

jb::Handler Hello(jeff::AsyncSessions& sessions, jb::BeastOptions options = {}) {
  return jb::Wrap(sessions, [](const jb::Request&, jb::Response& res,
                               const jeff::Session& s) -> awaitable<void> {
    res.body() = "hello " + s.key;
    co_return;
  }, std::move(options));
}

}  // namespace

TEST_CASE("Wrap: the handler runs with a live session, else 302 to the redirect") {
  Fixture f;
  const jb::Handler hello = Hello(f.sessions);

  const jb::Response anonymous = f.Serve(hello, Req(http::verb::get));
  CHECK(anonymous.result_int() == 302);
  CHECK(Field(anonymous, http::field::location) == "/");
  CHECK(anonymous.body().empty());

  const std::string cookie = f.LogIn("zoe");
  const jb::Response signed_in = f.Serve(hello, Req(http::verb::get, "a=b; " + cookie));
  CHECK(signed_in.result_int() == 200);
  CHECK(signed_in.body() == "hello zoe");
}

TEST_CASE("Wrap: unsafe requests need an allowed origin; 403 says why") {
  Fixture f;
  jb::BeastOptions options;
  options.allowed_origins = {"http://app.example"};
  const jb::Handler hello = Hello(f.sessions, options);
  const std::string cookie = f.LogIn("zoe");

  jb::Request foreign = Req(http::verb::post, cookie);
  foreign.set(http::field::origin, "https://evil.example");
  const jb::Response refused = f.Serve(hello, foreign);
  CHECK(refused.result_int() == 403);
  CHECK(refused.body().find("Cross-site request refused") == 0);
  CHECK(Field(refused, http::field::content_type) == "text/plain");

  const jb::Response missing = f.Serve(hello, Req(http::verb::post, cookie));
  CHECK(missing.result_int() == 403);
  CHECK(missing.body().find("no Origin header") != std::string::npos);

  jb::Request same = Req(http::verb::post, cookie);
  same.set(http::field::origin, "http://app.example");
  CHECK(f.Serve(hello, same).body() == "hello zoe");
  jb::Request fetch_same = Req(http::verb::post, cookie);
  fetch_same.set("Sec-Fetch-Site", "same-origin");
  CHECK(f.Serve(hello, fetch_same).body() == "hello zoe");

  jb::Response res;
  CHECK_FALSE(jb::AllowOrigin(foreign, res, options.allowed_origins));
  CHECK(res.result_int() == 403);
  CHECK(jb::AllowOrigin(same, res, options.allowed_origins));
}

TEST_CASE("Wrap: a custom unauthorized handler replaces the redirect") {
  Fixture f;
  jb::BeastOptions options;
  options.on_unauthorized = [](const jb::Request&, jb::Response& res) {
    res.result(http::status::unauthorized);
  };
  const jb::Response res = f.Serve(Hello(f.sessions, options), Req(http::verb::get));
  CHECK(res.result_int() == 401);
  CHECK(Field(res, http::field::location).empty());
}

TEST_CASE("Wrap: the unauthorized handler may take why there is no session") {
  Fixture f;
  jb::BeastOptions options;
  options.on_unauthorized = [](const jb::Request&, jb::Response& res, jeff::CheckStatus why) {
    res.result(http::status::unauthorized);
    res.body() = jeff::ToString(why);
  };
  const jb::Handler hello = Hello(f.sessions, options);
  CHECK(f.Serve(hello, Req(http::verb::get)).body() == "absent");
  CHECK(f.Serve(hello, Req(http::verb::get, "jeff_session=garbage")).body() == "malformed");
}

TEST_CASE("Wrap with max_authentication_age: an old login gets on_reauthenticate, by default 401") {
  Fixture f;
  jeff::ManualClock clock;
  jeff::Options options = Fixture::Options();
  options.clock = clock.AsClock();
  jeff::AsyncSessions sessions(options, nullptr, f.ioc.get_executor());
  auto issued = sessions.Set("zoe", "test", boost::asio::use_future);
  f.ioc.restart();
  f.ioc.run();
  const std::string cookie = jeff::test::CookieOf(issued.get().value());
  jb::BeastOptions recent;
  recent.max_authentication_age = std::chrono::minutes(10);
  const jb::Handler danger = Hello(sessions, recent);
  recent.on_reauthenticate = [](const jb::Request&, jb::Response& res) {
    res.result(http::status::found);
    res.set(http::field::location, "/confirm-password");
  };
  const jb::Handler custom = Hello(sessions, recent);

  CHECK(f.Serve(danger, Req(http::verb::get, cookie)).body() == "hello zoe");
  clock.Advance(std::chrono::minutes(11));
  const jb::Response old = f.Serve(danger, Req(http::verb::get, cookie));
  CHECK(old.result_int() == 401);
  CHECK(old.body() == "Please sign in again to continue.\n");
  const jb::Response redirected = f.Serve(custom, Req(http::verb::get, cookie));
  CHECK(redirected.result_int() == 302);
  CHECK(Field(redirected, http::field::location) == "/confirm-password");
}

TEST_CASE("Public: the handler always runs and sees what Check found") {
  Fixture f;
  const jb::Handler status = jb::Public(f.sessions, [](const jb::Request&, jb::Response& res,
                                                       const jeff::CheckResult& r) -> awaitable<void> {
    res.body() = std::string(jeff::ToString(r.status)) + (r.ok() ? " " + r.session.key : "");
    co_return;
  });
  CHECK(f.Serve(status, Req(http::verb::get)).body() == "absent");
  CHECK(f.Serve(status, Req(http::verb::post, f.LogIn("ann"))).body() == "ok ann");
  CHECK(f.Serve(status, Req(http::verb::get, "jeff_session=garbage")).body() == "malformed");
}

TEST_CASE("CookieHeader joins split Cookie headers; AddSetCookies sends each on its own") {
  jb::Request req{http::verb::get, "/", 11};
  req.insert(http::field::cookie, "a=1");
  req.insert(http::field::cookie, "b=2");
  CHECK(jb::CookieHeader(req) == "a=1; b=2");
  CHECK(jb::CookieHeader(jb::Request{}).empty());

  jb::Response res;
  jb::AddSetCookies(res, {"a=1; Path=/", "b=2; Path=/"});
  int count = 0;
  for (auto [it, end] = res.equal_range(http::field::set_cookie); it != end; ++it) ++count;
  CHECK(count == 2);

  jb::StoreUnavailable(res, std::chrono::seconds(7));
  CHECK(res.result_int() == 503);
  CHECK(Field(res, http::field::retry_after) == "7");
  CHECK(Field(res, http::field::cache_control) == "no-store");
}

TEST_CASE("DeviceBindingRoutes: DBSC registration and refresh through Beast requests") {
  boost::asio::io_context ioc;
  jeff::Options options;
  options.logger = [](std::string_view) {};
  options.device_binding.enabled = true;
  jeff::AsyncSessions sessions(options, std::make_shared<jeff::MemoryStore>(), ioc.get_executor());
  auto run = [&ioc](auto&& future) {
    ioc.restart();
    ioc.run();
    return future.get();
  };
  auto serve = [&run, &ioc](const jb::Handler& handler, const jb::Request& req) {
    jb::Response res{http::status::ok, 11};
    run(boost::asio::co_spawn(ioc, handler(req, res), boost::asio::use_future));
    return res;
  };

  const std::vector<jb::DeviceBindingRoute> routes = jb::DeviceBindingRoutes(sessions);
  REQUIRE(routes.size() == 2);
  CHECK(routes[0].path == "/.well-known/dbsc/start");
  CHECK(routes[1].path == "/.well-known/dbsc/refresh");

  auto issued = run(sessions.Set("zoe", "test", boost::asio::use_future));
  REQUIRE(issued.ok());
  jb::Response login;
  jb::AddIssued(login, *issued);
  const std::string registration(login["Secure-Session-Registration"]);
  CHECK(registration.rfind("(ES256 RS256);", 0) == 0);
  CHECK(jeff::test::ParamOf(registration, "path") == routes[0].path);
  const std::string long_cookie = jeff::test::CookieOf(*issued);

  const auto key = jeff::test::DbscTestKey::Es256();
  jb::Request start{http::verb::post, routes[0].path, 11};
  start.set(http::field::cookie, long_cookie);
  start.set("Secure-Session-Response", key.Registration(jeff::test::ParamOf(registration, "challenge")));
  const jb::Response registered = serve(routes[0].handler, start);
  REQUIRE(registered.result_int() == 200);
  CHECK(Field(registered, http::field::content_type) == "application/json");
  const std::string id = nlohmann::json::parse(registered.body()).at("session_identifier");
  const std::string bound = jeff::test::CookieHeaderOf(Field(registered, http::field::set_cookie));
  CHECK(bound.rfind("jeff_bound=", 0) == 0);

  // Bound: Wrap wants the bound cookie beside the session cookie.
  CHECK(serve(Hello(sessions), Req(http::verb::get, long_cookie)).result_int() == 302);
  CHECK(serve(Hello(sessions), Req(http::verb::get, long_cookie + "; " + bound)).body() == "hello zoe");

  jb::Request refresh{http::verb::post, routes[1].path, 11};
  refresh.set(http::field::cookie, long_cookie);
  refresh.set("Sec-Secure-Session-Id", id);
  const jb::Response challenge = serve(routes[1].handler, refresh);
  CHECK(challenge.result_int() == 403);
  const std::string nonce = jeff::test::ChallengeOf(std::string(challenge["Secure-Session-Challenge"]));
  REQUIRE_FALSE(nonce.empty());
  refresh.set("Secure-Session-Response", key.Refresh(nonce));
  const jb::Response refreshed = serve(routes[1].handler, refresh);
  CHECK(refreshed.result_int() == 200);
  CHECK(Field(refreshed, http::field::set_cookie).rfind("jeff_bound=", 0) == 0);
}

TEST_CASE("DeviceBindingRoutes: none when device binding is off") {
  Fixture f;
  CHECK(jb::DeviceBindingRoutes(f.sessions).empty());
}

TEST_CASE("Wrap with bearer: a stateful session's token in Authorization, no origin check; cookies still checked") {
  Fixture f;
  jeff::Options options = Fixture::Options();
  options.stateless = {};
  jeff::AsyncSessions sessions(options, std::make_shared<jeff::MemoryStore>(), f.ioc.get_executor());
  auto login = sessions.Set("zoe", "cli", boost::asio::use_future);
  f.ioc.restart();
  f.ioc.run();
  const jeff::Issued issued = login.get().value();
  jb::BeastOptions api;
  api.allowed_origins = {"http://app.example"};
  api.bearer = true;
  const jb::Handler hello = Hello(sessions, api);

  jb::Request with_token = Req(http::verb::post);
  with_token.set(http::field::authorization, "Bearer " + issued.token);
  const jb::Response granted = f.Serve(hello, with_token);
  CHECK(granted.result_int() == 200);
  CHECK(granted.body() == "hello zoe");
  jb::Request forged = Req(http::verb::post);
  forged.set(http::field::authorization, "Bearer nope");
  CHECK(f.Serve(hello, forged).result_int() == 302);
  // The cookie (no Authorization header) still needs an allowed origin.
  CHECK(f.Serve(hello, Req(http::verb::post, jeff::test::CookieOf(issued))).result_int() == 403);
}
