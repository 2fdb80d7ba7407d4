// docs/adapters.md's adapter, compiled from the guide's own code blocks (the
// build extracts them) and run behind a minimal HTTP/1.1 server written here
// over POSIX sockets on a free loopback port: one request per connection.
// The client is cpp-httplib's.

#include <doctest/doctest.h>
#include <jeff/stores/memory/memory_store.hpp>

#include "adapters_guide_types.hpp"
#include "adapters_guide_adapter.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace {

// A file descriptor, closed on destruction.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Parses the request line and headers (no body: the routes need none).
mini::Request Parse(const std::string& head) {
  std::istringstream in(head);
  mini::Request req;
  std::string line, version;
  std::getline(in, line);
  std::istringstream(line) >> req.method >> req.path >> version;
  while (std::getline(in, line) && line != "\r") {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of(' ', colon + 1);
    req.headers.emplace_back(line.substr(0, colon),
                             value == std::string::npos ? "" : line.substr(value));
  }
  return req;
}

std::string Serialize(const mini::Response& res) {
  std::string out = "HTTP/1.1 " + std::to_string(res.status) + " X\r\n";
  for (const auto& [name, value] : res.headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(res.body.size()) + "\r\nConnection: close\r\n\r\n";
  return out + res.body;
}

// The minimal server: routes by "METHOD path", 404 otherwise.
class MiniServer {
 public:
  std::map<std::string, mini_jeff::Route> routes;  // filled before Start

  void Start() {
    listener_ = std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM, 0));
    REQUIRE(listener_->fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_->fd, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_->fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~MiniServer() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    ::shutdown(listener_->fd, SHUT_RDWR);  // wakes accept()
    thread_.join();
  }
  int port = 0;

 private:
  void Serve() {
    while (!stopping_) {
      Fd conn(::accept(listener_->fd, nullptr, nullptr));
      if (conn.fd < 0) continue;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(conn.fd, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      const mini::Request req = Parse(head);
      mini::Response res;
      const auto route = routes.find(req.method + " " + req.path);
      if (route == routes.end()) {
        res.status = 404;
      } else {
        route->second(req, res);
      }
      const std::string out = Serialize(res);
      for (std::size_t sent = 0; sent < out.size();) {
        const ssize_t n = ::write(conn.fd, out.data() + sent, out.size() - sent);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
    }
  }
  std::unique_ptr<Fd> listener_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

TEST_CASE("the guide's adapter behind a POSIX-socket server") {
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  options.insecure = true;
  options.logger = [](std::string_view) {};
  jeff::Sessions sessions(options);

  jeff::http::PolicyOptions policy;
  policy.allowed_origins = {"http://app.example"};
  policy.unauthorized_redirect = sessions.options().unauthorized_redirect;
  const auto hello = [](const mini::Request&, mini::Response& res, const jeff::Session& s) {
    res.body = "hello " + s.key;
  };
  MiniServer server;
  server.routes["GET /private"] = mini_jeff::Wrap(sessions, policy, hello);
  server.routes["POST /private"] = mini_jeff::Wrap(sessions, policy, hello);
  server.routes["GET /public"] = mini_jeff::Public(sessions, [](const mini::Request&, mini::Response& res,
                                                                const jeff::CheckResult& r) {
    res.body = jeff::ToString(r.status);
  });
  server.Start();
  httplib::Client client("127.0.0.1", server.port);

  auto anonymous = client.Get("/private");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 302);
  CHECK(anonymous->get_header_value("Location") == "/");
  CHECK(client.Get("/public")->body == "absent");

  auto issued = sessions.Set("zoe", "test");
  REQUIRE(issued.ok());
  const std::string cookie = issued->set_cookie.front().substr(0, issued->set_cookie.front().find(';'));
  // Split Cookie headers are joined.
  const httplib::Headers with_cookie = {{"Cookie", "a=b"}, {"cookie", cookie}};
  auto page = client.Get("/private", with_cookie);
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body == "hello zoe");
  CHECK(client.Get("/public", with_cookie)->body == "ok");

  auto no_origin = client.Post("/private", with_cookie, "", "text/plain");
  REQUIRE(no_origin);
  CHECK(no_origin->status == 403);
  CHECK(no_origin->body.find("no Origin header") != std::string::npos);
  httplib::Headers same = with_cookie;
  same.emplace("Origin", "http://app.example");
  CHECK(client.Post("/private", same, "", "text/plain")->status == 200);
}
