// Chunked stateless cookies through real HTTP: cpp-httplib server (jeff's
// adapter) and client over loopback, several Set-Cookie headers each way.

#include <doctest/doctest.h>
#include <jeff/http/httplib.hpp>

#include "support/loopback_server.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace {

// The client's cookies: every Set-Cookie header applied, Max-Age=0 deletes.
struct ClientJar {
  std::map<std::string, std::string> cookies;

  void Apply(const httplib::Result& res) {
    REQUIRE(res);
    const auto range = res->headers.equal_range("Set-Cookie");
    for (auto it = range.first; it != range.second; ++it) {
      const std::string pair = it->second.substr(0, it->second.find(';'));
      const std::string name = pair.substr(0, pair.find('='));
      if (it->second.find("Max-Age=0") != std::string::npos) {
        cookies.erase(name);
      } else {
        cookies[name] = pair.substr(pair.find('=') + 1);
      }
    }
  }
  httplib::Headers Headers() const {
    std::string header;
    for (const auto& [name, value] : cookies) header += (header.empty() ? "" : "; ") + name + "=" + value;
    return {{"Cookie", header}};
  }
};

}  // namespace

TEST_CASE("chunked stateless cookies round-trip through cpp-httplib over loopback") {
  jeff::ManualClock clock;
  jeff::Options options;
  options.clock = clock.AsClock();
  options.insecure = true;
  options.logger = [](std::string_view) {};
  options.cookie.name = "authjs.session-token";
  options.stateless.secrets = {"httplib-chunks-secret-0123456789abcdef"};
  options.touch_interval = std::chrono::minutes(1);
  // cpp-httplib refuses request header lines over 8192 bytes
  // (CPPHTTPLIB_HEADER_MAX_LENGTH), so the chunks here stay under that.
  std::size_t blob_bytes = 4 * 1024;
  options.stateless.jwt_callback = [&](jeff::JwtTrigger, std::string_view, nlohmann::json& claims) {
    claims["blob"] = std::string(blob_bytes, 'b');
    return jeff::Result<void>{};
  };
  jeff::Sessions sessions(options);

  jeff::test::LoopbackServer ts;
  ts.server.Post("/login", [&](const httplib::Request& req, httplib::Response& res) {
    auto issued = sessions.Set(req.get_param_value("user"));
    REQUIRE(issued.ok());
    jeff::http::AddSetCookies(res, issued->set_cookie);
    res.set_content("in", "text/plain");
  });
  ts.server.Get("/me", jeff::http::Wrap(sessions, [](const httplib::Request&, httplib::Response& res,
                                                     const jeff::Session& session) {
    res.set_content(session.key + " " + std::to_string(session.StringClaim("blob").value_or("").size()),
                    "text/plain");
  }));
  ts.server.Post("/logout", [&](const httplib::Request& req, httplib::Response& res) {
    auto cleared = sessions.Clear(jeff::http::CookieHeader(req));
    REQUIRE(cleared.ok());
    jeff::http::AddSetCookies(res, *cleared);
  });
  ts.Start();

  httplib::Client client("127.0.0.1", ts.port);
  ClientJar jar;
  auto login = client.Post("/login?user=alice");
  jar.Apply(login);
  CHECK(jar.cookies.size() == 2);  // .0 .1
  CHECK(jar.cookies.count("authjs.session-token.1") == 1);

  auto me = client.Get("/me", jar.Headers());
  REQUIRE(me);
  CHECK(me->status == 200);
  CHECK(me->body == "alice 4096");

  // A refresh that shrinks the token: one cookie, the chunks expired.
  blob_bytes = 16;
  clock.Advance(std::chrono::minutes(2));
  auto refreshed = client.Get("/me", jar.Headers());
  REQUIRE(refreshed);
  CHECK(refreshed->body == "alice 16");
  jar.Apply(refreshed);
  CHECK(jar.cookies.size() == 1);
  CHECK(jar.cookies.count("authjs.session-token") == 1);
  auto again = client.Get("/me", jar.Headers());
  REQUIRE(again);
  CHECK(again->status == 200);

  jar.Apply(client.Post("/logout", jar.Headers(), "", "text/plain"));
  CHECK(jar.cookies.empty());
  auto out = client.Get("/me", jar.Headers());
  REQUIRE(out);
  CHECK(out->status == 302);
}
