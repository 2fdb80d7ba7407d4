// The Boost.Beast adapter (jeff/http/beast.hpp): Beast requests in, Beast
// responses out, through a real AsyncSessions on an io_context. Stateless
// mode (sessions in an encrypted cookie) needs no store; store failures are
// the policy's (policy-test.cc) and the Beast example's (a paused Redis).

#include <doctest/doctest.h>
#include <jeff/http/beast.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <string>

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
