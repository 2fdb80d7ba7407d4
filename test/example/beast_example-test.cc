// End-to-end: the Boost.Beast example (jeff-example-beast) as a real process
// on one io_context thread, driven over loopback with real HTTP. The pages
// themselves are checked by example-test.cc, which runs against this binary
// too; here: HTTP/1.1 keep-alive and pipelining, a stalled client that must
// not stall the loop, many clients at once, running out of file descriptors
// (the server lives on and serves again), and the Redis store (sessions
// survive a server restart, a paused Redis is 503 and then recovers).

#include <doctest/doctest.h>
#include <httplib.h>

#include "support/server_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string ExamplePath() {
  const char* path = std::getenv("JEFF_EXAMPLE_BEAST");
  REQUIRE_MESSAGE(path != nullptr, "JEFF_EXAMPLE_BEAST must name the jeff-example-beast binary");
  return path;
}

const std::string kForm = "email=ann%40example.com&password=correct+horse";

std::unique_ptr<jeff::test::ServerProcess> StartApp(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {ExamplePath(), "--port", "{port}", "--user",
                                   "ann@example.com:correct horse"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<jeff::test::ServerProcess>("example-beast", std::move(argv));
}

// True while `pid` runs (neither gone nor a zombie waiting to be reaped).
bool Running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const std::size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// What the server wrote to stdout and stderr so far.
std::string LogOf(const jeff::test::ServerProcess& app) {
  std::ifstream in(app.dir() + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Logs in as ann over `client` and returns the Cookie header to send back.
std::string LogIn(httplib::Client& client, std::uint16_t port) {
  auto res = client.Post("/login", {{"Origin", "http://127.0.0.1:" + std::to_string(port)}}, kForm,
                         "application/x-www-form-urlencoded");
  REQUIRE(res);
  REQUIRE(res->status == 303);
  const std::string set_cookie = res->get_header_value("Set-Cookie");
  REQUIRE(!set_cookie.empty());
  return set_cookie.substr(0, set_cookie.find(';'));
}

// A plain TCP connection to the app, for what an HTTP client library hides.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void Send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // True when the peer has closed (a read finds the end of the stream
  // rather than data or the 5 s timeout).
  bool Closed() {
    char byte;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }
  // Reads until `count` whole responses (each with a Content-Length) are in,
  // or the peer closes or times out; returns what was read.
  std::string ReadResponses(int count) {
    std::string in;
    char chunk[4096];
    while (Complete(in) < count) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      in.append(chunk, static_cast<std::size_t>(n));
    }
    return in;
  }

 private:
  static int Complete(const std::string& in) {
    int done = 0;
    std::size_t at = 0;
    for (;;) {
      const std::size_t head_end = in.find("\r\n\r\n", at);
      if (head_end == std::string::npos) return done;
      const std::size_t length_at = in.find("Content-Length: ", at);
      if (length_at == std::string::npos || length_at > head_end) return done;
      const std::size_t body = std::stoul(in.substr(length_at + 16));
      if (in.size() < head_end + 4 + body) return done;
      at = head_end + 4 + body;
      ++done;
    }
  }
  int fd_;
};

}  // namespace

TEST_CASE("the Beast example keeps connections alive and answers pipelined requests in order") {
  auto app = StartApp();
  httplib::Client login_client("127.0.0.1", app->port());
  const std::string cookie = LogIn(login_client, app->port());

  RawConnection connection(app->port());
  connection.Send("GET /account HTTP/1.1\r\nHost: x\r\nCookie: " + cookie +
                  "\r\n\r\nGET /account HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /no/such/page HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string replies = connection.ReadResponses(3);
  const std::size_t first = replies.find("HTTP/1.1 200 OK");
  const std::size_t second = replies.find("HTTP/1.1 302 Found");
  const std::size_t third = replies.find("HTTP/1.1 404 Not Found");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  REQUIRE(third != std::string::npos);
  CHECK(first < second);
  CHECK(second < third);
  CHECK(replies.find("ann@example.com") < second);
  CHECK(replies.find("Location: /login?next=/account") != std::string::npos);

  // The same connection still serves after the three.
  connection.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(connection.ReadResponses(1).find("HTTP/1.1 200 OK") == 0);
}

TEST_CASE("the Beast example: a stalled client does not stall the one loop thread") {
  // Long enough for every request below, however slow the machine.
  auto app = StartApp({"--request-timeout", "300"});
  // Half a request, never finished: its coroutine waits, the loop goes on.
  RawConnection stalled(app->port());
  stalled.Send("POST /login HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:" +
               std::to_string(app->port()) + "\r\nContent-Length: 100\r\n\r\nemail=");

  httplib::Client login_client("127.0.0.1", app->port());
  const std::string cookie = LogIn(login_client, app->port());

  // Many connections at once, each with several requests on its keep-alive
  // connection, all served by the one loop thread.
  constexpr int kClients = 16;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      httplib::Client client("127.0.0.1", app->port());
      client.set_keep_alive(true);
      for (int r = 0; r < kRequests; ++r) {
        auto res = client.Get("/account", {{"Cookie", cookie}});
        if (res && res->status == 200 && res->body.find("ann@example.com") != std::string::npos) ++ok;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  CHECK(ok == kClients * kRequests);

  // The stalled request, finished at last, is answered too.
  stalled.Send(std::string(94, 'x'));
  CHECK(stalled.ReadResponses(1).find("HTTP/1.1 401 Unauthorized") == 0);
}

TEST_CASE("the Beast example closes idle connections and requests that do not arrive in time") {
  SUBCASE("--idle-timeout: no request at all, or none after the last response") {
    auto app = StartApp({"--idle-timeout", "1"});
    RawConnection silent(app->port());
    CHECK(silent.Closed());
    RawConnection kept(app->port());
    kept.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string replies = kept.ReadResponses(2);  // one response, then the close
    CHECK(replies.find("HTTP/1.1 200 OK") == 0);
    CHECK(replies.find("HTTP/1.1", 1) == std::string::npos);
    CHECK(kept.Closed());
  }
  SUBCASE("--request-timeout: a request header trickling in") {
    auto app = StartApp({"--request-timeout", "1"});
    RawConnection slow(app->port());
    slow.Send("GET / HTTP/1.1\r\n");
    CHECK(slow.Closed());
  }
}

TEST_CASE("the Beast example outlives running out of file descriptors, then serves again") {
  // The server gets 64 descriptors (set in its process before exec) and 80
  // clients connect and send nothing.
  const auto start_limited = [](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/bin/sh", "-c", "ulimit -n 64 && exec \"$0\" \"$@\"",
                                     ExamplePath(), "--port", "{port}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<jeff::test::ServerProcess>("example-beast", std::move(argv));
  };
  std::unique_ptr<jeff::test::ServerProcess> app;
  std::string saturated;
  SUBCASE("the default connection cap (from RLIMIT_NOFILE) is reached first") {
    app = start_limited({});
    saturated = "connections open (--max-connections";
  }
  SUBCASE("a cap above the limit: accept fails with EMFILE, backs off and goes on") {
    app = start_limited({"--max-connections", "1000"});
    saturated = "Too many open files";
  }
  {
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 80; ++i) idle.push_back(std::make_unique<RawConnection>(app->port()));
    // The server says once that it is saturated, or dies (as it did when
    // accept's EMFILE escaped the accept loop).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Running(app->pid()) && LogOf(*app).find(saturated) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO(LogOf(*app));
    REQUIRE(Running(app->pid()));
    CHECK(LogOf(*app).find(saturated) != std::string::npos);
  }
  // The 80 closed: the server accepts and answers again.
  httplib::Client client("127.0.0.1", app->port());
  client.set_read_timeout(std::chrono::seconds(10));
  auto res = client.Get("/");
  INFO(LogOf(*app));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(Running(app->pid()));
}

TEST_CASE("the Beast example on Redis: sessions outlive the server, a paused Redis is 503") {
  auto redis = jeff::test::StartRedis();
  const std::string url = "redis://" + redis->address() + "?connect_timeout=200ms&timeout=300ms";
  std::string cookie;
  {
    auto app = StartApp({"--store", url});
    httplib::Client client("127.0.0.1", app->port());
    cookie = LogIn(client, app->port());
    auto account = client.Get("/account", {{"Cookie", cookie}});
    REQUIRE(account);
    CHECK(account->status == 200);
  }
  auto app = StartApp({"--store", url});
  httplib::Client client("127.0.0.1", app->port());
  auto again = client.Get("/account", {{"Cookie", cookie}});
  REQUIRE(again);
  CHECK(again->status == 200);  // the new process reads the session from Redis

  SUBCASE("a paused Redis: 503 with Retry-After within the timeout, then 200 again") {
    redis->Pause();
    const auto start = std::chrono::steady_clock::now();
    auto down = client.Get("/account", {{"Cookie", cookie}});
    const auto took = std::chrono::steady_clock::now() - start;
    redis->Resume();
    REQUIRE(down);
    CHECK(down->status == 503);
    CHECK(down->get_header_value("Retry-After") == "1");
    CHECK(down->body.find("session store is not answering") != std::string::npos);
    CHECK(took < std::chrono::seconds(3));
    CHECK(client.Get("/account", {{"Cookie", cookie}})->status == 200);
  }
  SUBCASE("logout removes the session from Redis") {
    auto out = client.Post("/logout", {{"Cookie", cookie}, {"Origin", "http://127.0.0.1:" +
                                                                          std::to_string(app->port())}},
                           "", "application/x-www-form-urlencoded");
    REQUIRE(out);
    CHECK(out->status == 303);
    CHECK(client.Get("/account", {{"Cookie", cookie}})->status == 302);
  }
}
