#include <doctest/doctest.h>
#include <jeff/http/httplib.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"
#include "support/dbsc_flow.hpp"
#include "support/loopback_server.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

namespace {

// Fault injection around a real MemoryStore: while `down`, every read fails.
class SwitchableStore final : public jeff::Store {
 public:
  std::atomic<bool> down{false};
  jeff::Result<std::optional<jeff::Versioned>> Fetch(std::string_view key) override {
    if (down) return jeff::Errc::kStoreUnavailable;
    return inner_.Fetch(key);
  }
  jeff::Result<bool> CompareAndSwap(std::string_view key, std::optional<jeff::Version> expected,
                                    std::string_view value, std::chrono::milliseconds ttl) override {
    if (down) return jeff::Errc::kStoreUnavailable;
    return inner_.CompareAndSwap(key, expected, value, ttl);
  }
  jeff::Result<void> Erase(std::string_view key) override { return inner_.Erase(key); }

 private:
  jeff::MemoryStore inner_;
};

}  // namespace

TEST_CASE("Wrap and Public over real HTTP") {
  auto store = std::make_shared<SwitchableStore>();
  jeff::Options options;
  options.store = store;
  options.insecure = true;
  options.logger = [](std::string_view) {};
  jeff::Sessions sessions(options);

  jeff::test::LoopbackServer ts;
  ts.server.Post("/login", [&](const httplib::Request& req, httplib::Response& res) {
    auto issued = sessions.Set(req.get_param_value("user"), "test");
    REQUIRE(issued.ok());
    jeff::http::AddSetCookies(res, issued->set_cookie);
  });
  jeff::http::HttplibOptions wrap_options;
  wrap_options.retry_after = std::chrono::seconds(7);
  std::vector<std::string> store_errors;  // written by the server thread, read after the reply
  wrap_options.on_store_error = [&](const httplib::Request& req, httplib::Response&, std::error_code ec) {
    store_errors.push_back(req.path + ": " + ec.message());
  };
  wrap_options.allowed_origins = {"http://app.example"};
  ts.server.Get("/private", jeff::http::Wrap(sessions, [](const auto&, auto& res, const jeff::Session& s) {
    res.set_content("hello " + s.key, "text/plain");
  }, wrap_options));
  ts.server.Post("/private", jeff::http::Wrap(sessions, [](const auto&, auto& res, const jeff::Session&) {
    res.set_content("changed", "text/plain");
  }, wrap_options));
  ts.server.Get("/public", jeff::http::Public(sessions, [](const auto&, auto& res, const jeff::CheckResult& r) {
    res.set_content(std::string(jeff::ToString(r.status)) + (r.ok() ? " " + r.session.key : ""),
                    "text/plain");
  }));
  ts.Start();
  httplib::Client client("127.0.0.1", ts.port);

  auto anonymous = client.Get("/private");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 302);
  CHECK(anonymous->get_header_value("Location") == "/");
  CHECK(client.Get("/public")->body == "absent");

  auto login = client.Post("/login", "user=zoe", "application/x-www-form-urlencoded");
  REQUIRE(login);
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  httplib::Headers with_cookie = {{"Cookie", "a=b; " + cookie}};

  auto private_page = client.Get("/private", with_cookie);
  REQUIRE(private_page);
  CHECK(private_page->status == 200);
  CHECK(private_page->body == "hello zoe");
  CHECK(client.Get("/public", with_cookie)->body == "ok zoe");

  SUBCASE("unsafe methods need an allowed origin") {
    httplib::Headers cross = with_cookie;
    cross.emplace("Origin", "https://evil.example");
    auto foreign = client.Post("/private", cross, "", "text/plain");
    CHECK(foreign->status == 403);
    CHECK(foreign->body.find("Cross-site request refused") == 0);
    auto missing = client.Post("/private", with_cookie, "", "text/plain");  // no Origin
    CHECK(missing->status == 403);
    CHECK(missing->body.find("no Origin header") != std::string::npos);
    CHECK(missing->body.find("Cross-site") == std::string::npos);
    httplib::Headers same = with_cookie;
    same.emplace("Origin", "http://app.example");
    CHECK(client.Post("/private", same, "", "text/plain")->status == 200);
  }

  SUBCASE("a store failure is 503 with Retry-After, never a redirect or a page") {
    store->down = true;
    auto down = client.Get("/private", with_cookie);
    REQUIRE(down);
    CHECK(down->status == 503);
    CHECK(down->get_header_value("Retry-After") == "7");
    REQUIRE(store_errors.size() == 1);
    CHECK(store_errors.front() == "/private: " + std::error_code(jeff::Errc::kStoreUnavailable).message());
    CHECK(client.Get("/public", with_cookie)->body == "store error");
    store->down = false;
    CHECK(client.Get("/private", with_cookie)->status == 200);
  }

  SUBCASE("a custom unauthorized handler replaces the redirect") {
    jeff::http::HttplibOptions custom;
    custom.on_unauthorized = [](const auto&, auto& res) { res.status = 401; };
    ts.server.Get("/api", jeff::http::Wrap(sessions, [](const auto&, auto&, const jeff::Session&) {}, custom));
    CHECK(client.Get("/api")->status == 401);
  }

  SUBCASE("the unauthorized handler may take why there is no session") {
    jeff::http::HttplibOptions custom;
    custom.on_unauthorized = [](const auto&, auto& res, jeff::CheckStatus why) {
      res.status = 401;
      res.set_content(std::string(jeff::ToString(why)), "text/plain");
    };
    ts.server.Get("/why", jeff::http::Wrap(sessions, [](const auto&, auto&, const jeff::Session&) {}, custom));
    CHECK(client.Get("/why")->body == "absent");
    CHECK(client.Get("/why", {{"Cookie", "jeff_session=garbage"}})->body == "malformed");
  }
}

TEST_CASE("CookieHeader joins split Cookie headers") {
  httplib::Request req;
  req.headers.emplace("Cookie", "a=1");
  req.headers.emplace("Cookie", "b=2");
  CHECK(jeff::http::CookieHeader(req) == "a=1; b=2");
}

TEST_CASE("MountDeviceBinding: DBSC registration and refresh over real HTTP") {
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  options.logger = [](std::string_view) {};
  options.device_binding.enabled = true;
  jeff::Sessions sessions(options);

  jeff::test::LoopbackServer ts;
  ts.server.Post("/login", [&](const httplib::Request&, httplib::Response& res) {
    auto issued = sessions.Set("zoe", "test");
    REQUIRE(issued.ok());
    jeff::http::AddIssued(res, *issued);
  });
  jeff::http::MountDeviceBinding(ts.server, sessions);
  ts.server.Get("/private", jeff::http::Wrap(sessions, [](const auto&, auto& res, const jeff::Session& s) {
    res.set_content(s.device_bound ? "bound" : "unbound", "text/plain");
  }));
  ts.Start();
  httplib::Client client("127.0.0.1", ts.port);

  auto login = client.Post("/login");
  REQUIRE(login);
  const std::string long_cookie = jeff::test::CookieHeaderOf(login->get_header_value("Set-Cookie"));
  const std::string registration = login->get_header_value("Secure-Session-Registration");
  CHECK(registration.rfind("(ES256 RS256);", 0) == 0);
  const std::string path = jeff::test::ParamOf(registration, "path");
  CHECK(path == "/.well-known/dbsc/start");
  CHECK(client.Get("/private", {{"Cookie", long_cookie}})->body == "unbound");

  const auto key = jeff::test::DbscTestKey::Es256();
  auto registered = client.Post(
      path.c_str(),
      {{"Cookie", long_cookie},
       {"Secure-Session-Response", key.Registration(jeff::test::ParamOf(registration, "challenge"))}},
      "", "");
  REQUIRE(registered);
  REQUIRE(registered->status == 200);
  CHECK(registered->get_header_value("Content-Type") == "application/json");
  CHECK(registered->get_header_value_count("Content-Type") == 1);
  const auto config = nlohmann::json::parse(registered->body);
  const std::string id = config.at("session_identifier");
  CHECK(config.at("refresh_url") == "/.well-known/dbsc/refresh");
  const std::string bound = jeff::test::CookieHeaderOf(registered->get_header_value("Set-Cookie"));
  CHECK(bound.rfind("jeff_bound=", 0) == 0);

  // Bound: the session cookie alone no longer opens the page.
  CHECK(client.Get("/private", {{"Cookie", long_cookie}})->status == 302);
  CHECK(client.Get("/private", {{"Cookie", long_cookie + "; " + bound}})->body == "bound");

  const httplib::Headers refresh = {{"Cookie", long_cookie}, {"Sec-Secure-Session-Id", id}};
  auto challenge = client.Post("/.well-known/dbsc/refresh", refresh, "", "");
  REQUIRE(challenge);
  CHECK(challenge->status == 403);
  const std::string nonce = jeff::test::ChallengeOf(challenge->get_header_value("Secure-Session-Challenge"));
  REQUIRE_FALSE(nonce.empty());
  httplib::Headers signed_refresh = refresh;
  signed_refresh.emplace("Secure-Session-Response", key.Refresh(nonce));
  auto refreshed = client.Post("/.well-known/dbsc/refresh", signed_refresh, "", "");
  REQUIRE(refreshed);
  CHECK(refreshed->status == 200);
  const std::string renewed = jeff::test::CookieHeaderOf(refreshed->get_header_value("Set-Cookie"));
  CHECK(client.Get("/private", {{"Cookie", long_cookie + "; " + renewed}})->body == "bound");

  SUBCASE("a revoked session: the refresh tells the browser to stop") {
    REQUIRE(sessions.Clear(long_cookie).ok());
    auto stop = client.Post("/.well-known/dbsc/refresh", refresh, "", "");
    REQUIRE(stop);
    CHECK(stop->status == 200);
    CHECK(nlohmann::json::parse(stop->body).at("continue") == false);
  }
  SUBCASE("another path is not an endpoint (the paths are not regular expressions)") {
    CHECK(client.Post("/Xwell-known/dbsc/refresh", refresh, "", "")->status == 404);
  }
}

TEST_CASE("MountDeviceBinding mounts nothing when device binding is off") {
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  options.logger = [](std::string_view) {};
  jeff::Sessions sessions(options);
  jeff::test::LoopbackServer ts;
  jeff::http::MountDeviceBinding(ts.server, sessions);
  ts.Start();
  httplib::Client client("127.0.0.1", ts.port);
  CHECK(client.Post("/.well-known/dbsc/start", "", "")->status == 404);
  CHECK(client.Post("/.well-known/dbsc/refresh", "", "")->status == 404);
  auto issued = sessions.Set("zoe", "test");
  REQUIRE(issued.ok());
  CHECK(issued->headers.empty());
}

TEST_CASE("Wrap with max_authentication_age: an old login signs in again until Reauthenticated") {
  jeff::ManualClock clock;
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  options.clock = clock.AsClock();
  options.insecure = true;
  options.logger = [](std::string_view) {};
  jeff::Sessions sessions(options);
  jeff::test::LoopbackServer ts;
  jeff::http::HttplibOptions recent;
  recent.max_authentication_age = std::chrono::minutes(10);
  const auto done = [](const auto&, auto& res, const jeff::Session&) { res.set_content("done", "text/plain"); };
  ts.server.Get("/danger", jeff::http::Wrap(sessions, done, recent));
  recent.on_reauthenticate = [](const auto&, auto& res) { res.set_redirect("/confirm-password"); };
  ts.server.Get("/custom", jeff::http::Wrap(sessions, done, recent));
  ts.Start();
  httplib::Client client("127.0.0.1", ts.port);

  auto issued = sessions.Set("zoe", "test");
  REQUIRE(issued.ok());
  const httplib::Headers with_cookie = {{"Cookie", jeff::test::CookieOf(*issued)}};
  CHECK(client.Get("/danger", with_cookie)->body == "done");
  clock.Advance(std::chrono::minutes(11));
  auto old = client.Get("/danger", with_cookie);
  REQUIRE(old);
  CHECK(old->status == 401);
  CHECK(old->body == "Please sign in again to continue.\n");
  auto custom = client.Get("/custom", with_cookie);
  REQUIRE(custom);
  CHECK(custom->status == 302);
  CHECK(custom->get_header_value("Location") == "/confirm-password");
  auto again = sessions.Reauthenticated(jeff::test::CookieOf(*issued));
  REQUIRE(again.ok());
  CHECK(client.Get("/danger", {{"Cookie", jeff::test::CookieOf(*again)}})->body == "done");
}

TEST_CASE("Wrap with bearer: a stateful session's token in Authorization, no origin check; cookies still checked") {
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  options.insecure = true;
  options.logger = [](std::string_view) {};
  jeff::Sessions sessions(options);
  jeff::test::LoopbackServer ts;
  jeff::http::HttplibOptions api;
  api.allowed_origins = {"http://app.example"};
  api.bearer = true;
  ts.server.Post("/api", jeff::http::Wrap(sessions, [](const auto&, auto& res, const jeff::Session& s) {
    res.set_content("hello " + s.key, "text/plain");
  }, api));
  ts.Start();
  httplib::Client client("127.0.0.1", ts.port);

  auto issued = sessions.Set("zoe", "cli");
  REQUIRE(issued.ok());
  auto with_token = client.Post("/api", {{"Authorization", "Bearer " + issued->token}}, "", "text/plain");
  REQUIRE(with_token);
  CHECK(with_token->status == 200);
  CHECK(with_token->body == "hello zoe");
  CHECK(client.Post("/api", {{"Authorization", "Bearer nope"}}, "", "text/plain")->status == 302);
  // The cookie (no Authorization header) still needs an allowed origin.
  CHECK(client.Post("/api", {{"Cookie", jeff::test::CookieOf(*issued)}}, "", "text/plain")->status == 403);
}
