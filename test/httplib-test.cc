#include <doctest/doctest.h>
#include <jeff/http/httplib.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/loopback_server.hpp"

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
}

TEST_CASE("CookieHeader joins split Cookie headers") {
  httplib::Request req;
  req.headers.emplace("Cookie", "a=1");
  req.headers.emplace("Cookie", "b=2");
  CHECK(jeff::http::CookieHeader(req) == "a=1; b=2");
}
