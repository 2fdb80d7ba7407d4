// End-to-end: the example app as a real process, driven over loopback with
// cpp-httplib's client the way a browser would (cookies, Origin, redirects).

#include <doctest/doctest.h>
#include <httplib.h>

#include "support/server_process.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace {

std::string ExamplePath() {
  const char* path = std::getenv("JEFF_EXAMPLE");
  REQUIRE_MESSAGE(path != nullptr, "JEFF_EXAMPLE must name the jeff-example binary");
  return path;
}

// The example's program name (the binary's file name), as its messages start.
std::string ExampleProgram() {
  const std::string path = ExamplePath();
  return path.substr(path.rfind('/') + 1);
}

// The server's text behind a refusal, as the example logs it. The Beast
// example's asynchronous Redis store reports the refusal without the
// server's text (a known gap: its per-thread reason is not carried to the
// completion), the synchronous stores with it.
std::string RefusalReason(const std::string& at) {
  return ExampleProgram() == "jeff-example-beast" ? "" : ": " + at + ": AUTH: WRONGPASS";
}

// A browser: one cookie jar, one origin, no automatic redirects.
class Browser {
 public:
  Browser(std::uint16_t port, std::string user_agent)
      : client_("127.0.0.1", port),
        origin_("http://127.0.0.1:" + std::to_string(port)),
        user_agent_(std::move(user_agent)) {}

  httplib::Result Get(const std::string& path) {
    auto res = client_.Get(path, Headers(false));
    Absorb(res);
    return res;
  }
  httplib::Result Post(const std::string& path, const std::string& form,
                       const std::string& origin = "") {
    httplib::Headers h = Headers(true);
    if (!origin.empty()) {
      h.erase("Origin");
      h.emplace("Origin", origin);
    }
    auto res = client_.Post(path, h, form, "application/x-www-form-urlencoded");
    Absorb(res);
    return res;
  }
  // A POST as curl sends it: no Origin header.
  httplib::Result PostWithoutOrigin(const std::string& path, const std::string& form) {
    auto res = client_.Post(path, Headers(false), form, "application/x-www-form-urlencoded");
    Absorb(res);
    return res;
  }
  const std::map<std::string, std::string>& jar() const { return jar_; }
  std::string last_set_cookie;

 private:
  httplib::Headers Headers(bool with_origin) const {
    httplib::Headers h = {{"User-Agent", user_agent_}};
    std::string cookie;
    for (const auto& [name, value] : jar_) cookie += (cookie.empty() ? "" : "; ") + name + "=" + value;
    if (!cookie.empty()) h.emplace("Cookie", cookie);
    if (with_origin) h.emplace("Origin", origin_);
    return h;
  }
  void Absorb(const httplib::Result& res) {
    if (!res) return;
    for (auto [it, end] = res->headers.equal_range("Set-Cookie"); it != end; ++it) {
      last_set_cookie = it->second;
      const std::string pair = it->second.substr(0, it->second.find(';'));
      const std::string name = pair.substr(0, pair.find('='));
      const std::string value = pair.substr(pair.find('=') + 1);
      if (value.empty() || it->second.find("Max-Age=0") != std::string::npos) {
        jar_.erase(name);
      } else {
        jar_[name] = value;
      }
    }
  }
  httplib::Client client_;
  std::string origin_;
  std::string user_agent_;
  std::map<std::string, std::string> jar_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kForm = "email=ann%40example.com&password=correct+horse";

std::vector<std::string> SessionIds(const std::string& html) {
  std::vector<std::string> ids;
  std::regex id_re("name=\"id\" value=\"([0-9a-f-]{36})\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), id_re); it != std::sregex_iterator(); ++it) {
    ids.push_back((*it)[1]);
  }
  return ids;
}

}  // namespace

TEST_CASE("the example app: login, account, sessions, revoke, logout") {
  jeff::test::ServerProcess app(
      "example", {ExamplePath(), "--port", "{port}", "--user", "ann@example.com:correct horse"});
  Browser laptop(app.port(), "Laptop/1.0");
  Browser phone(app.port(), "Phone/2.0");

  auto home = laptop.Get("/");
  REQUIRE(home);
  CHECK(home->status == 200);
  CHECK(home->body.find("not signed in") != std::string::npos);

  auto protected_page = laptop.Get("/account");
  REQUIRE(protected_page);
  CHECK(protected_page->status == 302);
  CHECK(protected_page->get_header_value("Location") == "/login?next=/account");

  auto wrong = laptop.Post("/login", "email=ann%40example.com&password=wrong");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(laptop.jar().empty());

  auto login = laptop.Post("/login", "email=ann%40example.com&password=correct+horse");
  REQUIRE(login);
  CHECK(login->status == 303);
  CHECK(login->get_header_value("Location") == "/account");
  REQUIRE(laptop.jar().count("jeff_session") == 1);
  CHECK(laptop.last_set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(laptop.last_set_cookie.find("SameSite=Lax") != std::string::npos);
  CHECK(laptop.last_set_cookie.find("Secure") != std::string::npos);

  auto account = laptop.Get("/account");
  REQUIRE(account);
  CHECK(account->status == 200);
  CHECK(account->body.find("ann@example.com") != std::string::npos);
  CHECK(account->body.find("Laptop/1.0") != std::string::npos);

  REQUIRE(phone.Post("/login", "email=ann%40example.com&password=correct+horse")->status == 303);
  auto list = laptop.Get("/sessions");
  REQUIRE(list);
  CHECK(list->status == 200);
  CHECK(list->body.find("Laptop/1.0 (this device)") != std::string::npos);
  CHECK(list->body.find("Phone/2.0") != std::string::npos);
  auto others = SessionIds(list->body);
  REQUIRE(others.size() == 1);  // a revoke button for the phone only

  SUBCASE("a cross-site POST is refused") {
    auto forged = laptop.Post("/sessions/revoke", "id=" + others[0], "http://evil.example");
    REQUIRE(forged);
    CHECK(forged->status == 403);
    CHECK(phone.Get("/account")->status == 200);
    CHECK(laptop.Post("/logout", "", "http://evil.example")->status == 403);
    CHECK(laptop.Get("/account")->status == 200);
  }

  SUBCASE("revoking a device logs it out on its next request, which says so once") {
    auto revoked = laptop.Post("/sessions/revoke", "id=" + others[0]);
    REQUIRE(revoked);
    CHECK(revoked->status == 303);
    auto gone = phone.Get("/account");
    CHECK(gone->status == 302);
    CHECK(gone->get_header_value("Location") == "/login?signed_out=1&next=/account");
    CHECK(phone.jar().count("jeff_session") == 0);  // the dead cookie is expired
    CHECK(phone.Get("/login?signed_out=1&next=/account")->body.find("You were signed out") !=
          std::string::npos);
    CHECK(phone.Get("/account")->get_header_value("Location") == "/login?next=/account");
    CHECK(phone.Get("/login")->body.find("You were signed out") == std::string::npos);
    CHECK(laptop.Get("/account")->status == 200);
  }

  SUBCASE("sign out everywhere else keeps this device, says how many, then hides") {
    CHECK(list->body.find("Sign out everywhere else") != std::string::npos);
    auto out = laptop.Post("/sessions/others", "");
    CHECK(out->status == 303);
    CHECK(out->get_header_value("Location") == "/sessions?signed_out=1");
    CHECK(phone.Get("/account")->status == 302);
    CHECK(laptop.Get("/account")->status == 200);
    auto after = laptop.Get("/sessions?signed_out=1");
    CHECK(after->body.find("Signed out 1 other device.") != std::string::npos);
    CHECK(SessionIds(after->body).empty());
    CHECK(after->body.find("Sign out everywhere else") == std::string::npos);  // no other device
    CHECK(laptop.Get("/sessions?signed_out=%3Cb%3E")->body.find("Signed out") == std::string::npos);
  }

  SUBCASE("logout clears the session and the cookie") {
    auto out = laptop.Post("/logout", "");
    REQUIRE(out);
    CHECK(out->status == 303);
    CHECK(laptop.jar().count("jeff_session") == 0);
    CHECK(laptop.Get("/account")->status == 302);
    CHECK(phone.Get("/account")->status == 200);
  }
}

TEST_CASE("the example app serves /metrics with --metrics, read by prometheus_client's parser") {
  jeff::test::ServerProcess plain(
      "example", {ExamplePath(), "--port", "{port}", "--user", "ann@example.com:correct horse"});
  CHECK(Browser(plain.port(), "Laptop/1.0").Get("/metrics")->status == 404);  // off by default

  jeff::test::ServerProcess app(
      "example", {ExamplePath(), "--port", "{port}", "--user", "ann@example.com:correct horse", "--metrics"});
  Browser laptop(app.port(), "Laptop/1.0");
  CHECK(laptop.Get("/account")->status == 302);  // no cookie: one absent check
  CHECK(laptop.Get("/account")->status == 302);
  auto page = laptop.Get("/metrics");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type").find("version=0.0.4") != std::string::npos);

  const char* build = std::getenv("JEFF_BUILD_ROOT");
  const std::string dir = build ? build : ".";
  const std::string exposition = dir + "/example-metrics.prom";
  const std::string script = dir + "/example-metrics.py";
  std::ofstream(exposition, std::ios::binary) << page->body;
  std::ofstream(script)
      << "import sys\n"
         "from prometheus_client.parser import text_string_to_metric_families\n"
         "fam = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}\n"
         "absent = [s.value for s in fam['jeff_checks'].samples if s.labels == {'status': 'absent'}]\n"
         "assert absent and absent[0] >= 2, absent\n"
         "assert fam['jeff_checks'].type == 'counter'\n"
         "assert fam['jeff_store_call_seconds'].type == 'histogram'\n"
         "assert fam['jeff_sets'].samples[0].value == 0\n"
         "print('parsed', len(fam), 'families')\n";
  const char* python = std::getenv("JEFF_PYTHON3");
  const int status = std::system((std::string(python ? python : "python3") + " " + script + " " + exposition).c_str());
  CHECK(status == 0);
  std::remove(exposition.c_str());
  std::remove(script.c_str());
}

TEST_CASE("the example app refuses bad flags") {
  const std::string cmd = ExamplePath() + " --port 0 >/dev/null 2>&1";
  CHECK(WEXITSTATUS(std::system(cmd.c_str())) == 2);
  const std::string store = ExamplePath() + " --store bogus://x >/dev/null 2>&1";
  CHECK(WEXITSTATUS(std::system(store.c_str())) == 1);
  const std::string help = ExamplePath() + " --help >/dev/null 2>&1";
  CHECK(WEXITSTATUS(std::system(help.c_str())) == 0);
}

TEST_CASE("the example app: remember me, ?next=, a kept email, its own 404 page") {
  jeff::test::ServerProcess app(
      "example", {ExamplePath(), "--port", "{port}", "--user", "ann@example.com:correct horse"});
  Browser laptop(app.port(),
                 "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0");

  SUBCASE("the login form has the box, unticked; unticked, the cookie ends with the browser") {
    const std::string form = laptop.Get("/login")->body;
    CHECK(form.find("name=\"remember\"") != std::string::npos);
    CHECK(form.find("checked") == std::string::npos);
    REQUIRE(laptop.Post("/login", kForm)->status == 303);
    CHECK(laptop.last_set_cookie.find("Max-Age") == std::string::npos);
    CHECK(laptop.last_set_cookie.find("Expires") == std::string::npos);
  }
  SUBCASE("ticked, the cookie lasts max_age (30 days)") {
    REQUIRE(laptop.Post("/login", kForm + "&remember=1")->status == 303);
    CHECK(laptop.last_set_cookie.find("Max-Age=2592000") != std::string::npos);
  }
  SUBCASE("devices are shown by browser and OS") {
    REQUIRE(laptop.Post("/login", kForm)->status == 303);
    CHECK(laptop.Get("/account")->body.find("Firefox on Linux") != std::string::npos);
    CHECK(laptop.Get("/sessions")->body.find("Firefox on Linux (this device)") != std::string::npos);
  }
  SUBCASE("a wrong password keeps the email") {
    auto wrong = laptop.Post("/login", "email=ann%40example.com&password=nope&remember=1");
    CHECK(wrong->status == 401);
    CHECK(wrong->body.find("value=\"ann@example.com\"") != std::string::npos);
    CHECK(wrong->body.find("Wrong email or password.") != std::string::npos);
  }
  SUBCASE("back to the page asked for, after logging in") {
    auto asked = laptop.Get("/sessions");
    CHECK(asked->status == 302);
    CHECK(asked->get_header_value("Location") == "/login?next=/sessions");
    CHECK(laptop.Get("/login?next=/sessions")->body.find(
              "name=\"next\" value=\"/sessions\"") != std::string::npos);
    auto in = laptop.Post("/login", kForm + "&next=%2Fsessions");
    CHECK(in->get_header_value("Location") == "/sessions");
    // /login while signed in goes on at once.
    auto again = laptop.Get("/login?next=/sessions");
    CHECK(again->status == 303);
    CHECK(again->get_header_value("Location") == "/sessions");
    CHECK(laptop.Get("/login")->get_header_value("Location") == "/account");
  }
  SUBCASE("?next= never leaves the site") {
    for (const char* attack : {"%2F%2Fevil.com", "%2F%5Cevil.com", "https%3A%2F%2Fevil.com",
                               "%2F%09%2Fevil.com", "%5C%5Cevil.com"}) {
      CAPTURE(attack);
      Browser other(app.port(), "Other/1.0");
      CHECK(other.Get(std::string("/login?next=") + attack)->body.find("evil") == std::string::npos);
      auto in = other.Post("/login", kForm + "&next=" + attack);
      CHECK(in->status == 303);
      CHECK(in->get_header_value("Location") == "/account");
      auto signed_in = other.Get(std::string("/login?next=") + attack);
      CHECK(signed_in->get_header_value("Location") == "/account");
    }
  }
  SUBCASE("a POST without Origin is told that Origin is missing") {
    auto refused = laptop.PostWithoutOrigin("/login", kForm);
    CHECK(refused->status == 403);
    CHECK(refused->body.find("no Origin header") != std::string::npos);
    CHECK(refused->body.find("Cross-site") == std::string::npos);
  }
  SUBCASE("unknown pages get the app's 404 page") {
    auto missing = laptop.Get("/no/such/page");
    CHECK(missing->status == 404);
    CHECK(missing->body.find("<nav>") != std::string::npos);
    CHECK(missing->body.find("Page not found") != std::string::npos);
  }
}

TEST_CASE("the example app: a store that cannot be reached is reported") {
  // Nothing listens on this port: the store is down from the start.
  const std::string down = "redis://127.0.0.1:" + std::to_string(jeff::test::FreePort()) +
                           "?connect_timeout=200ms&timeout=200ms";
  jeff::test::ServerProcess app("example", {ExamplePath(), "--port", "{port}", "--store", down,
                                            "--user", "ann@example.com:correct horse"});
  const std::string log = app.dir() + "/server.log";
  CHECK(ReadFile(log).find("WARNING: the store redis://127.0.0.1:") != std::string::npos);
  CHECK(ReadFile(log).find("cannot be reached") != std::string::npos);

  Browser laptop(app.port(), "Laptop/1.0");
  auto login = laptop.Post("/login", kForm);
  REQUIRE(login);
  CHECK(login->status == 503);
  CHECK(login->get_header_value("Retry-After") == "1");
  CHECK(login->body.find("<nav>") != std::string::npos);  // the app's page, not plain text
  CHECK(login->body.find("session store is not answering") != std::string::npos);
  CHECK(ReadFile(log).find("store error on POST /login:") != std::string::npos);

  // A cookie makes Check read the store: 503 from Wrap, logged too.
  httplib::Client client("127.0.0.1", app.port());
  auto account = client.Get("/account", {{"Cookie", "jeff_session=" + std::string(22, 'A') + "." +
                                                        std::string(43, 'A')}});
  REQUIRE(account);
  CHECK(account->status == 503);
  CHECK(account->body.find("<nav>") != std::string::npos);
  CHECK(ReadFile(log).find("store error on GET /account:") != std::string::npos);
}

namespace {

// GET /login, then POST /login, from a browser on `origin` (scheme://host)
// whose Host header is `host`, over a connection to 127.0.0.1:`port`.
struct HostedLogin {
  std::string page;  // GET /login
  int status = 0;    // POST /login
  std::string body;  // POST /login
  bool cookie = false;
};
HostedLogin LogInAt(std::uint16_t port, const std::string& host, const std::string& origin) {
  httplib::Client client("127.0.0.1", port);
  HostedLogin out;
  auto page = client.Get("/login", {{"Host", host}});
  REQUIRE(page);
  out.page = page->body;
  auto login = client.Post("/login", {{"Host", host}, {"Origin", origin}}, kForm,
                           "application/x-www-form-urlencoded");
  REQUIRE(login);
  out.status = login->status;
  out.body = login->body;
  out.cookie = login->has_header("Set-Cookie");
  return out;
}

}  // namespace

TEST_CASE("the example app: plain HTTP on a host name, where the browser drops the Secure cookie") {
  // Decided by the page's scheme and host (Origin, Host), not by the
  // client's address: every request here comes from 127.0.0.1.
  const std::vector<std::string> user = {"--user", "ann@example.com:correct horse"};
  jeff::test::ServerProcess app("example", {ExamplePath(), "--port", "{port}", user[0], user[1]});
  const std::string host = "myhost:" + std::to_string(app.port());
  const std::string origin = "http://" + host;
  const std::string notice = "Logging in cannot work at " + origin;

  const HostedLogin plain = LogInAt(app.port(), host, origin);
  CHECK(plain.page.find(notice) != std::string::npos);
  CHECK(plain.page.find("restart the server with --insecure --origin " + origin) != std::string::npos);
  CHECK(plain.status == 403);
  CHECK(plain.body.find(notice) != std::string::npos);
  CHECK_FALSE(plain.cookie);  // no session the browser would drop
  LogInAt(app.port(), host, origin);
  const std::string text = ReadFile(app.dir() + "/server.log");
  const auto first = text.find("WARNING: a browser on " + origin + " cannot keep the session cookie");
  CHECK(first != std::string::npos);
  CHECK(text.find("WARNING: a browser on", first + 1) == std::string::npos);  // once

  // Secure contexts keep the cookie: no notice there.
  httplib::Client client("127.0.0.1", app.port());
  for (const std::string& local : {"127.0.0.1:" + std::to_string(app.port()),
                                   "localhost:" + std::to_string(app.port()), std::string("[::1]:80")}) {
    CAPTURE(local);
    CHECK(client.Get("/login", {{"Host", local}})->body.find("Logging in cannot work") == std::string::npos);
  }

  // --insecure (development): the login works on the host name, given its
  // origin; behind a TLS proxy (--origin https://...) the cookie is kept.
  for (const std::string scheme : {"http", "https"}) {
    CAPTURE(scheme);
    std::vector<std::string> args = {ExamplePath(), "--port", "{port}", "--origin",
                                     scheme + "://app.example", user[0], user[1]};
    if (scheme == "http") args.push_back("--insecure");
    jeff::test::ServerProcess other("example", args);
    const HostedLogin in = LogInAt(other.port(), "app.example", scheme + "://app.example");
    CHECK(in.page.find("Logging in cannot work") == std::string::npos);
    CHECK(in.status == 303);
    CHECK(in.cookie);
    CHECK(ReadFile(other.dir() + "/server.log").find("WARNING: a browser on") == std::string::npos);
  }
}

TEST_CASE("the example app: a store that refuses says why, and no password is ever printed") {
  auto redis = jeff::test::StartRedis({"--requirepass", "right pass"});
  const std::string at = redis->address();
  jeff::test::ServerProcess app("example", {ExamplePath(), "--port", "{port}", "--store",
                                            "redis://:Wr0ng%20pw@" + at + "?connect_timeout=2s",
                                            "--user", "ann@example.com:correct horse"});
  const std::string log = app.dir() + "/server.log";
  CHECK(ReadFile(log).find("WARNING: the store redis://:***@" + at + "?connect_timeout=2s refuses jeff's "
                           "requests (session store refused the request" + RefusalReason(at)) !=
        std::string::npos);
  CHECK(ReadFile(log).find("cannot be reached") == std::string::npos);

  Browser laptop(app.port(), "Laptop/1.0");
  auto login = laptop.Post("/login", kForm);
  REQUIRE(login);
  CHECK(login->status == 503);
  CHECK(login->get_header_value("Retry-After") == "1");
  CHECK(ReadFile(log).find("store error on POST /login: session store refused the request" +
                           RefusalReason(at)) != std::string::npos);
  CHECK(ReadFile(log).find("Wr0ng") == std::string::npos);

  // A PostgreSQL password that libpq cannot parse: the start-up error says
  // so without quoting it.
  const std::string cmd =
      ExamplePath() + " --store 'postgres://app:Sup3rS3cretPw%zz@127.0.0.1/app' 2>&1 >/dev/null";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string printed;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) printed += buffer;
  CHECK(WEXITSTATUS(::pclose(pipe)) == 1);
  CHECK(printed.find(ExampleProgram() + ": ") != std::string::npos);
  CHECK(printed.find("S3cret") == std::string::npos);
}
