// The POCO adapter (jeff/http/poco.hpp) over real HTTP: a Poco::Net::HTTPServer
// on a free loopback port, asked by Poco's own client. Sessions live in a
// MemoryStore; the store failure is a RedisStore on a loopback port nobody
// listens on.

#include <doctest/doctest.h>
#include <jeff/http/poco.hpp>
#include <jeff/stores/memory/memory_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include "support/cookies.hpp"
#include "support/dbsc_flow.hpp"
#include "support/dbsc_test_key.hpp"
#include "support/server_process.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace jp = jeff::http::poco;

jeff::Options QuietOptions(std::shared_ptr<jeff::Store> store) {
  jeff::Options options;
  options.store = std::move(store);
  options.insecure = true;
  options.logger = [](std::string_view) {};
  return options;
}

// A Poco::Net::HTTPServer on 127.0.0.1, serving `router`'s routes (added
// before Start) from its own threads; stopped on destruction.
struct PocoServer {
  jp::Router* router = new jp::Router;  // owned by `server` once started
  std::unique_ptr<Poco::Net::HTTPServer> server;
  Poco::UInt16 port = 0;

  void Start() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = socket.address().port();
    server = std::make_unique<Poco::Net::HTTPServer>(router, socket, new Poco::Net::HTTPServerParams);
    server->start();
  }
  ~PocoServer() {
    if (server) {
      server->stopAll(true);
    } else {
      delete router;
    }
  }
};

struct Reply {
  int status = 0;
  std::vector<std::string> set_cookie;
  std::string retry_after, location, body;
  Poco::Net::NameValueCollection headers;  // every header (Set-Cookie too)
};

// One request on a new connection.
Reply Fetch(Poco::UInt16 port, const std::string& method, const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  Poco::Net::HTTPClientSession client("127.0.0.1", port);
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) req.add(name, value);
  if (method == "POST") req.setContentLength(0);
  client.sendRequest(req);
  Poco::Net::HTTPResponse res;
  std::istream& body = client.receiveResponse(res);
  Reply reply;
  reply.status = res.getStatus();
  Poco::StreamCopier::copyToString(body, reply.body);
  for (auto it = res.find("Set-Cookie"); it != res.end() && it->first == "Set-Cookie"; ++it) {
    reply.set_cookie.push_back(it->second);
  }
  reply.headers = res;
  reply.retry_after = res.get("Retry-After", std::string());
  reply.location = res.get("Location", std::string());
  return reply;
}

// One response's bytes (head and Content-Length body) from `socket`; what
// arrived before the peer closed it, if it did (a close with our unread
// bytes in its buffer arrives as a reset: closed too).
std::string ReadResponse(Poco::Net::StreamSocket& socket) {
  std::string bytes;
  char buf[4096];
  std::size_t end = std::string::npos;
  while (true) {
    const std::size_t head_end = bytes.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const std::size_t at = bytes.find("Content-Length: ");
      const std::size_t length = at < head_end ? std::stoul(bytes.substr(at + 16)) : 0;
      end = head_end + 4 + length;
      if (bytes.size() >= end) return bytes.substr(0, end);
    }
    int n = 0;
    try {
      n = socket.receiveBytes(buf, sizeof buf);
    } catch (const Poco::Net::ConnectionResetException&) {
      return bytes;
    }
    if (n <= 0) return bytes;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

TEST_CASE("Wrap, Public, Set and Clear over a real Poco HTTPServer") {
  jeff::Sessions sessions(QuietOptions(std::make_shared<jeff::MemoryStore>()));
  PocoServer ts;
  ts.router->Add("POST", "/login", [&](jp::Request& req, jp::Response& res) {
    REQUIRE(jp::Set(sessions, res, req.get("X-User"), "test").ok());
    jp::Send(res, "in");
  });
  ts.router->Add("POST", "/logout", [&](jp::Request& req, jp::Response& res) {
    REQUIRE(jp::Clear(sessions, req, res).ok());
    jp::Send(res, "out");
  });
  jp::PocoOptions wrap_options;
  wrap_options.allowed_origins = {"http://app.example"};
  const auto hello = [](jp::Request&, jp::Response& res, const jeff::Session& s) {
    jp::Send(res, "hello " + s.key, "text/plain");
  };
  ts.router->Add("GET", "/private", jp::Wrap(sessions, hello, wrap_options));
  ts.router->Add("POST", "/private", jp::Wrap(sessions, hello, wrap_options));
  ts.router->Add("GET", "/public", jp::Public(sessions, [](jp::Request&, jp::Response& res,
                                                           const jeff::CheckResult& r) {
    jp::Send(res, std::string(jeff::ToString(r.status)) + (r.ok() ? " " + r.session.key : ""));
  }));
  jp::PocoOptions api_options;
  api_options.on_unauthorized = [](jp::Request&, jp::Response& res) {
    res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
  };
  ts.router->Add("GET", "/api", jp::Wrap(sessions, hello, api_options));
  jp::PocoOptions why_options;
  why_options.on_unauthorized = [](jp::Request&, jp::Response& res, jeff::CheckStatus why) {
    res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
    jp::Send(res, std::string(jeff::ToString(why)), "text/plain");
  };
  ts.router->Add("GET", "/why", jp::Wrap(sessions, hello, why_options));
  ts.Start();

  const Reply anonymous = Fetch(ts.port, "GET", "/private");
  CHECK(anonymous.status == 302);
  CHECK(anonymous.location == "/");
  CHECK(Fetch(ts.port, "GET", "/public").body == "absent");
  CHECK(Fetch(ts.port, "GET", "/api").status == 401);
  CHECK(Fetch(ts.port, "GET", "/why").body == "absent");
  CHECK(Fetch(ts.port, "GET", "/why", {{"Cookie", "jeff_session=garbage"}}).body == "malformed");
  CHECK(Fetch(ts.port, "GET", "/nowhere").status == 404);

  const Reply login = Fetch(ts.port, "POST", "/login", {{"X-User", "zoe"}});
  REQUIRE(login.set_cookie.size() == 1);
  const std::string cookie = login.set_cookie.front().substr(0, login.set_cookie.front().find(';'));

  SUBCASE("the handler runs with the session; split Cookie headers are joined") {
    const Reply page = Fetch(ts.port, "GET", "/private?x=1", {{"Cookie", "a=b"}, {"Cookie", cookie}});
    CHECK(page.status == 200);
    CHECK(page.body == "hello zoe");
    CHECK(Fetch(ts.port, "GET", "/public", {{"Cookie", cookie}}).body == "ok zoe");
    CHECK(Fetch(ts.port, "GET", "/api", {{"Cookie", cookie}}).body == "hello zoe");
  }

  SUBCASE("unsafe methods need an allowed origin") {
    const Reply missing = Fetch(ts.port, "POST", "/private", {{"Cookie", cookie}});
    CHECK(missing.status == 403);
    CHECK(missing.body.find("no Origin header") != std::string::npos);
    const Reply foreign =
        Fetch(ts.port, "POST", "/private", {{"Cookie", cookie}, {"Origin", "https://evil.example"}});
    CHECK(foreign.status == 403);
    CHECK(foreign.body.find("Cross-site request refused") == 0);
    const Reply same =
        Fetch(ts.port, "POST", "/private", {{"Cookie", cookie}, {"Origin", "http://app.example"}});
    CHECK(same.status == 200);
  }

  SUBCASE("a refused request's unread body does not become the next request") {
    // Raw bytes, as a browser sends them: the head, then the body, then the
    // next request on the same connection.
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", ts.port));
    const std::string head = "POST /private HTTP/1.1\r\nHost: x\r\nCookie: " + cookie +
                             "\r\nContent-Length: 13\r\n\r\n";
    socket.sendBytes(head.data(), static_cast<int>(head.size()));
    const std::string refused = ReadResponse(socket);
    CHECK(refused.rfind("HTTP/1.1 403", 0) == 0);
    const std::string rest = "id=0123456789GET /private HTTP/1.1\r\nHost: x\r\nCookie: " + cookie +
                             "\r\n\r\n";
    std::string next;  // stays "" when the server closed the connection
    try {
      socket.sendBytes(rest.data(), static_cast<int>(rest.size()));
      next = ReadResponse(socket);
    } catch (const Poco::Net::ConnectionResetException&) {
    }
    CHECK(next.rfind("HTTP/1.1 404", 0) != 0);
  }

  SUBCASE("Clear adds the clearing Set-Cookie; the session is gone") {
    const Reply logout = Fetch(ts.port, "POST", "/logout", {{"Cookie", cookie}});
    CHECK(logout.status == 200);
    REQUIRE(logout.set_cookie.size() == 1);
    CHECK(logout.set_cookie.front().find("Max-Age=0") != std::string::npos);
    CHECK(Fetch(ts.port, "GET", "/private", {{"Cookie", cookie}}).status == 302);
  }
}

TEST_CASE("A store that is down: 503 with Retry-After, on_store_error first") {
  // Issued by a working store, checked against a Redis nobody listens on.
  jeff::Sessions issuer(QuietOptions(std::make_shared<jeff::MemoryStore>()));
  const auto issued = issuer.Set("zoe", "test");
  REQUIRE(issued.ok());
  const std::string cookie = issued->set_cookie.front().substr(0, issued->set_cookie.front().find(';'));

  jeff::RedisStoreOptions redis;
  redis.hosts = {{"127.0.0.1", jeff::test::FreePort()}};
  jeff::Sessions sessions(QuietOptions(std::make_shared<jeff::RedisStore>(redis)));
  jp::PocoOptions options;
  options.retry_after = std::chrono::seconds(7);
  std::vector<std::string> store_errors;  // written by the server thread, read after the reply
  options.on_store_error = [&](jp::Request& req, jp::Response&, std::error_code ec) {
    store_errors.push_back(req.getURI() + ": " + ec.message());
  };
  PocoServer ts;
  ts.router->Add("GET", "/private", jp::Wrap(sessions, [](jp::Request&, jp::Response& res,
                                                          const jeff::Session&) {
    jp::Send(res, "page");
  }, options));
  ts.router->Add("GET", "/public", jp::Public(sessions, [](jp::Request&, jp::Response& res,
                                                           const jeff::CheckResult& r) {
    jp::Send(res, std::string(jeff::ToString(r.status)));
  }));
  ts.Start();

  const Reply down = Fetch(ts.port, "GET", "/private", {{"Cookie", cookie}});
  CHECK(down.status == 503);
  CHECK(down.retry_after == "7");
  CHECK(down.body != "page");
  REQUIRE(store_errors.size() == 1);
  CHECK(store_errors.front().rfind("/private: ", 0) == 0);
  CHECK(Fetch(ts.port, "GET", "/public", {{"Cookie", cookie}}).body == "store error");
}

TEST_CASE("DeviceBindingRoutes: DBSC registration and refresh over a real Poco HTTPServer") {
  jeff::Options options = QuietOptions(std::make_shared<jeff::MemoryStore>());
  options.device_binding.enabled = true;
  jeff::Sessions sessions(options);
  PocoServer ts;
  ts.router->Add("POST", "/login", [&](jp::Request&, jp::Response& res) {
    REQUIRE(jp::Set(sessions, res, "zoe", "test").ok());
    jp::Send(res, "in");
  });
  const std::vector<std::pair<std::string, jp::Route>> routes = jp::DeviceBindingRoutes(sessions);
  REQUIRE(routes.size() == 2);
  for (const auto& [path, route] : routes) ts.router->Add("POST", path, route);
  ts.router->Add("GET", "/private", jp::Wrap(sessions, [](jp::Request&, jp::Response& res, const jeff::Session& s) {
    jp::Send(res, s.device_bound ? "bound" : "unbound", "text/plain");
  }));
  ts.Start();

  const Reply login = Fetch(ts.port, "POST", "/login");
  REQUIRE(login.set_cookie.size() == 1);
  const std::string long_cookie = jeff::test::CookieHeaderOf(login.set_cookie.front());
  const std::string registration = login.headers.get("Secure-Session-Registration", "");
  CHECK(registration.rfind("(ES256 RS256);", 0) == 0);
  const std::string path = jeff::test::ParamOf(registration, "path");
  CHECK(path == "/.well-known/dbsc/start");
  CHECK(Fetch(ts.port, "GET", "/private", {{"Cookie", long_cookie}}).body == "unbound");

  const auto key = jeff::test::DbscTestKey::Es256();
  const Reply registered = Fetch(ts.port, "POST", path,
      {{"Cookie", long_cookie},
       {"Secure-Session-Response", key.Registration(jeff::test::ParamOf(registration, "challenge"))}});
  REQUIRE(registered.status == 200);
  CHECK(registered.headers.get("Content-Type", "") == "application/json");
  const auto config = nlohmann::json::parse(registered.body);
  CHECK(config.at("refresh_url") == "/.well-known/dbsc/refresh");
  const std::string id = config.at("session_identifier");
  REQUIRE(registered.set_cookie.size() == 1);
  const std::string bound = jeff::test::CookieHeaderOf(registered.set_cookie.front());
  CHECK(bound.rfind("jeff_bound=", 0) == 0);

  // Bound: the session cookie alone no longer opens the page.
  CHECK(Fetch(ts.port, "GET", "/private", {{"Cookie", long_cookie}}).status == 302);
  CHECK(Fetch(ts.port, "GET", "/private", {{"Cookie", long_cookie + "; " + bound}}).body == "bound");

  const Reply challenge = Fetch(ts.port, "POST", "/.well-known/dbsc/refresh",
                                {{"Cookie", long_cookie}, {"Sec-Secure-Session-Id", id}});
  CHECK(challenge.status == 403);
  const std::string nonce = jeff::test::ChallengeOf(challenge.headers.get("Secure-Session-Challenge", ""));
  REQUIRE_FALSE(nonce.empty());
  const Reply refreshed = Fetch(ts.port, "POST", "/.well-known/dbsc/refresh",
                                {{"Cookie", long_cookie}, {"Sec-Secure-Session-Id", id},
                                 {"Secure-Session-Response", key.Refresh(nonce)}});
  CHECK(refreshed.status == 200);
  REQUIRE(refreshed.set_cookie.size() == 1);
  const std::string renewed = jeff::test::CookieHeaderOf(refreshed.set_cookie.front());
  CHECK(Fetch(ts.port, "GET", "/private", {{"Cookie", long_cookie + "; " + renewed}}).body == "bound");

  // Revoked: the refresh tells the browser to stop.
  REQUIRE(sessions.Clear(long_cookie).ok());
  const Reply stop = Fetch(ts.port, "POST", "/.well-known/dbsc/refresh",
                           {{"Cookie", long_cookie}, {"Sec-Secure-Session-Id", id}});
  CHECK(stop.status == 200);
  CHECK(nlohmann::json::parse(stop.body).at("continue") == false);
}

TEST_CASE("DeviceBindingRoutes: none when device binding is off") {
  jeff::Sessions sessions(QuietOptions(std::make_shared<jeff::MemoryStore>()));
  CHECK(jp::DeviceBindingRoutes(sessions).empty());
}

TEST_CASE("Wrap with max_authentication_age: an old login signs in again until Reauthenticated") {
  jeff::ManualClock clock;
  jeff::Options options = QuietOptions(std::make_shared<jeff::MemoryStore>());
  options.clock = clock.AsClock();
  jeff::Sessions sessions(options);
  PocoServer ts;
  jp::PocoOptions recent;
  recent.max_authentication_age = std::chrono::minutes(10);
  const auto done = [](jp::Request&, jp::Response& res, const jeff::Session&) { jp::Send(res, "done"); };
  ts.router->Add("GET", "/danger", jp::Wrap(sessions, done, recent));
  recent.on_reauthenticate = [](jp::Request&, jp::Response& res) {
    res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_FOUND);
    res.set("Location", "/confirm-password");
  };
  ts.router->Add("GET", "/custom", jp::Wrap(sessions, done, recent));
  ts.Start();

  auto issued = sessions.Set("zoe", "test");
  REQUIRE(issued.ok());
  const std::string cookie = jeff::test::CookieOf(*issued);
  CHECK(Fetch(ts.port, "GET", "/danger", {{"Cookie", cookie}}).body == "done");
  clock.Advance(std::chrono::minutes(11));
  const Reply old = Fetch(ts.port, "GET", "/danger", {{"Cookie", cookie}});
  CHECK(old.status == 401);
  CHECK(old.body == "Please sign in again to continue.\n");
  const Reply custom = Fetch(ts.port, "GET", "/custom", {{"Cookie", cookie}});
  CHECK(custom.status == 302);
  CHECK(custom.location == "/confirm-password");
  auto again = sessions.Reauthenticated(cookie);
  REQUIRE(again.ok());
  CHECK(Fetch(ts.port, "GET", "/danger", {{"Cookie", jeff::test::CookieOf(*again)}}).body == "done");
}

TEST_CASE("Wrap with bearer: a stateful session's token in Authorization, no origin check; cookies still checked") {
  jeff::Sessions sessions(QuietOptions(std::make_shared<jeff::MemoryStore>()));
  PocoServer ts;
  jp::PocoOptions api;
  api.allowed_origins = {"http://app.example"};
  api.bearer = true;
  ts.router->Add("POST", "/api", jp::Wrap(sessions, [](jp::Request&, jp::Response& res, const jeff::Session& s) {
    jp::Send(res, "hello " + s.key);
  }, api));
  ts.Start();

  auto issued = sessions.Set("zoe", "cli");
  REQUIRE(issued.ok());
  const Reply granted = Fetch(ts.port, "POST", "/api", {{"Authorization", "Bearer " + issued->token}});
  CHECK(granted.status == 200);
  CHECK(granted.body == "hello zoe");
  CHECK(Fetch(ts.port, "POST", "/api", {{"Authorization", "Bearer nope"}}).status == 302);
  // The cookie (no Authorization header) still needs an allowed origin.
  CHECK(Fetch(ts.port, "POST", "/api", {{"Cookie", jeff::test::CookieOf(*issued)}}).status == 403);
}
