// RedisStore over TLS against a real redis-server serving TLS only, with
// certificates made by `openssl` at test time: the session flow, refused
// certificates (wrong CA, expired) reported as an unavailable store (a Check
// answers kStoreError, never "logged out"), mutual TLS required and met, a
// stalled handshake bounded by connect_timeout, and the connection rules of
// plain TCP (stray bytes break a connection; a restarted server is
// reconnected to; an idle pooled connection is reused, not replaced), and a
// Redis Cluster with tls-cluster reached through rediss+cluster://.

#include "redis_test_support.hpp"
#include "stores/redis/connection.hpp"
#include "stores/redis/tls.hpp"
#include "support/cookies.hpp"
#include "tls_test_support.hpp"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <jeff/sessions.hpp>
#include <jeff/stores/open_store.hpp>

#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

namespace jeff::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Options SessionOptions(std::shared_ptr<Store> store, const std::string& prefix) {
  Options o;
  o.store = std::move(store);
  o.key_prefix = prefix;
  return o;
}

// One PKI for the whole file: making certificates is most of its run time.
const TestPki& Pki() {
  static const TestPki pki;
  return pki;
}

std::string UniquePrefix() { return "tls" + std::to_string(std::random_device{}()) + ":"; }

Result<std::optional<Versioned>> FetchWith(RedisStoreOptions o) {
  RedisStore store(std::move(o));
  return store.Fetch("k");
}

TEST_CASE("TLS: the session flow, through options and through a rediss:// URL") {
  const TestPki& pki = Pki();
  auto server = StartRedisTls(pki, {"--requirepass", "s3cret"});
  RedisStoreOptions ro = LocalTlsOptions(pki, server->port());
  ro.password = "s3cret";
  const std::string prefix = UniquePrefix();
  Sessions sessions(SessionOptions(std::make_shared<RedisStore>(ro), prefix));

  auto issued = sessions.Set("alice@example.com", "meta");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);
  CheckResult checked = sessions.Check(cookie);
  REQUIRE(checked.status == CheckStatus::kOk);
  CHECK(checked.session.key == "alice@example.com");

  // The same session read through OpenStore with a rediss:// URL.
  const std::string url = "rediss://:s3cret@127.0.0.1:" + std::to_string(server->port()) +
                          "?ca_file=" + pki.ca() + "&server_name=localhost";
  Sessions by_url(SessionOptions(OpenStore(url), prefix));
  CHECK(by_url.Check(cookie).status == CheckStatus::kOk);

  REQUIRE(sessions.Clear(cookie).ok());
  CHECK(sessions.Check(cookie).status != CheckStatus::kOk);
  CHECK(by_url.Check(cookie).status != CheckStatus::kOk);
}

TEST_CASE("TLS: a certificate from another CA is an unavailable store, not a logout") {
  const TestPki& pki = Pki();
  auto server = StartRedisTls(pki);
  const std::string prefix = UniquePrefix();
  Sessions good(SessionOptions(std::make_shared<RedisStore>(LocalTlsOptions(pki, server->port())),
                               prefix));
  auto issued = good.Set("bob@example.com", "meta");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);

  RedisStoreOptions wrong = LocalTlsOptions(pki, server->port());
  wrong.tls.ca_file = pki.other_ca();
  Sessions refused(SessionOptions(std::make_shared<RedisStore>(wrong), prefix));
  const CheckResult r = refused.Check(cookie);
  CHECK(r.status == CheckStatus::kStoreError);
  CHECK(IsStoreError(r.error));
  CHECK(FetchWith(wrong).error() == Errc::kStoreUnavailable);

  // A name the certificate does not carry is refused the same way.
  RedisStoreOptions wrong_name = LocalTlsOptions(pki, server->port());
  wrong_name.tls.server_name = "redis.example.com";
  CHECK(FetchWith(wrong_name).error() == Errc::kStoreUnavailable);
  wrong_name.tls.server_name = "localhost";
  CHECK(FetchWith(wrong_name).ok());

  // Plain TCP to a TLS port is no session either.
  RedisStoreOptions plain = LocalOptions(server->port());
  plain.connect_timeout = milliseconds(500);
  plain.command_timeout = milliseconds(500);
  CHECK_FALSE(FetchWith(plain).ok());
}

TEST_CASE("TLS: an expired server certificate is refused unless verification is skipped") {
  const TestPki& pki = Pki();
  auto server = StartRedisTls(pki, {}, /*expired=*/true);
  RedisStoreOptions o = LocalTlsOptions(pki, server->port());
  CHECK(FetchWith(o).error() == Errc::kStoreUnavailable);

  // insecure_skip_verify connects, and says so once per store.
  std::vector<std::string> warnings;
  o.tls.insecure_skip_verify = true;
  o.logger = [&](std::string_view line) { warnings.emplace_back(line); };
  RedisStore store(o);
  CHECK(store.Fetch("k").ok());
  CHECK(store.Fetch("k").ok());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("insecure_skip_verify") != std::string::npos);
}

TEST_CASE("TLS: a server that requires client certificates (mutual TLS)") {
  const TestPki& pki = Pki();
  auto server = StartRedisTls(pki, {"--tls-auth-clients", "yes"});
  RedisStoreOptions o = LocalTlsOptions(pki, server->port());
  CHECK(FetchWith(o).error() == Errc::kStoreUnavailable);

  o.tls.cert_file = pki.client_cert();
  o.tls.key_file = pki.client_key();
  RedisStore store(o);
  REQUIRE(store.CompareAndSwap("k", std::nullopt, "v", milliseconds(60000)).ok());
  auto fetched = store.Fetch("k");
  REQUIRE(fetched.ok());
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->value == "v");

  // Unreadable files are configuration errors, found at construction.
  o.tls.key_file = pki.Path("missing.key");
  CHECK_THROWS_AS(RedisStore{o}, std::invalid_argument);
  o.tls.key_file = "";
  CHECK_THROWS_AS(RedisStore{o}, std::invalid_argument);
}

TEST_CASE("TLS: a server that never answers the handshake is a timeout, not a hang") {
  FakeServer silent;  // accepts, reads, never writes
  const TestPki& pki = Pki();
  RedisStoreOptions o = LocalTlsOptions(pki, silent.port());
  o.connect_timeout = milliseconds(300);
  Result<std::optional<Versioned>> result = Errc::kInvalidArgument;
  const auto took = Timed([&] { result = FetchWith(o); });
  CHECK(result.error() == Errc::kStoreTimeout);
  CHECK(took >= milliseconds(290));
  CHECK(took < milliseconds(2000));
}

TEST_CASE("TLS: a stopped server is a timeout within command_timeout") {
  const TestPki& pki = Pki();
  auto server = StartRedisTls(pki);
  RedisStoreOptions o = LocalTlsOptions(pki, server->port());
  o.command_timeout = milliseconds(300);
  RedisStore store(o);
  REQUIRE(store.Fetch("k").ok());
  server->Pause();
  Result<std::optional<Versioned>> result = Errc::kInvalidArgument;
  const auto took = Timed([&] { result = store.Fetch("k"); });
  server->Resume();
  CHECK(result.error() == Errc::kStoreTimeout);
  CHECK(took < milliseconds(2000));
  CHECK(store.Fetch("k").ok());
}

TEST_CASE("TLS: bytes left after the expected replies break the connection") {
  const TestPki& pki = Pki();
  auto server = StartRedisTls(pki);
  const RedisStoreOptions store_options = LocalTlsOptions(pki, server->port());
  redis_detail::ConnectOptions options;
  options.tls = redis_detail::TlsContext::Make(store_options.tls, [](std::string_view) {});
  auto opened = redis_detail::Connection::Open({"127.0.0.1", server->port()}, options);
  REQUIRE(opened.ok());
  redis_detail::Connection& connection = **opened;
  const auto deadline = [] { return redis_detail::SteadyClock::now() + std::chrono::seconds(5); };
  redis_detail::Reply reply;
  const std::array<std::string_view, 1> ping{"PING"};
  const std::array<redis_detail::Command, 1> ping_command{redis_detail::Command(ping)};
  REQUIRE(connection.Exchange(ping_command, std::span(&reply, 1), deadline()).ok());
  CHECK(redis_detail::ReplyText(*reply) == "PONG");

  const std::array<std::string_view, 3> subscribe{"SUBSCRIBE", "jeff-a", "jeff-b"};
  const std::array<redis_detail::Command, 1> subscribe_command{redis_detail::Command(subscribe)};
  CHECK(connection.Exchange(subscribe_command, std::span(&reply, 1), deadline()).error() ==
        Errc::kStoreProtocol);
  CHECK(connection.broken());
}

TEST_CASE("TLS: pooled connections are reused while idle and replaced after a restart") {
  const TestPki& pki = Pki();
  const std::uint16_t plain_port = FreePort();
  auto server = StartRedisTls(pki, {"--port", std::to_string(plain_port)});
  RedisStoreOptions o = LocalTlsOptions(pki, server->port());
  o.idle_check_after = milliseconds(0);  // every reuse is checked
  o.pool_size = 1;
  RedisStore store(o);
  RawRedis raw(plain_port);
  REQUIRE(store.Fetch("k").ok());
  auto connections = [&] {
    const std::string info = raw.Text({"INFO", "stats"});
    const std::string field = "total_connections_received:";
    return std::stoll(info.substr(info.find(field) + field.size()));
  };
  const long long opened = connections();
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(milliseconds(2));
    REQUIRE(store.Fetch("k").ok());
  }
  // TLS 1.3 session tickets arriving after the handshake are not mistaken
  // for a closed connection: the one TLS connection was reused throughout.
  CHECK(connections() == opened);

  server->Kill();
  server->Restart();
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(store.Fetch("k").ok());  // the dead pooled connection is noticed and replaced
}

TEST_CASE("TLS: rediss+cluster:// on a 3-node Redis Cluster with tls-cluster") {
  const TestPki& pki = Pki();
  // Each node: TLS for clients and the cluster bus, plus a plain port for
  // the test's own inspection. With tls-cluster, TLS clients are told the
  // nodes' TLS ports in CLUSTER SLOTS and MOVED.
  std::vector<std::unique_ptr<ServerProcess>> nodes;
  std::vector<std::uint16_t> plain_ports;
  while (nodes.size() < 3) {
    const std::uint16_t plain = FreePort();
    const std::uint16_t tls = FreePort();
    if (plain > 55535 || tls > 55535 || plain == tls) continue;  // bus ports are +10000
    plain_ports.push_back(plain);
    nodes.push_back(StartRedisTls(pki, {"--port", std::to_string(plain), "--tls-cluster", "yes",
                                        "--cluster-enabled", "yes", "--cluster-config-file",
                                        "{dir}/nodes.conf"},
                                  false, tls));
  }
  std::string command = "redis-cli --tls --cacert " + pki.ca() + " --cluster create";
  std::string url = "rediss+cluster://";
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    command += " " + nodes[i]->address();
    url += (i ? "," : "") + nodes[i]->address();
  }
  command += " --cluster-replicas 0 --cluster-yes > " + nodes[0]->dir() + "/create.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(nodes[0]->dir() + "/create.log");
    FAIL("redis-cli --cluster create failed: "
         << std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (bool ok = false; !ok;) {
    ok = true;
    for (std::uint16_t port : plain_ports) {
      ok = ok && RawRedis(port).Text({"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
    }
    REQUIRE(Clock::now() < deadline);
    if (!ok) std::this_thread::sleep_for(milliseconds(100));
  }

  auto store = OpenStore(url + "?ca_file=" + pki.ca());
  for (int i = 0; i < 30; ++i) {
    const std::string key = "key" + std::to_string(i);
    REQUIRE(store->CompareAndSwap(key, std::nullopt, "v" + key, milliseconds(60000)).ok());
  }
  std::size_t keys_seen = 0;
  for (std::uint16_t port : plain_ports) keys_seen += static_cast<std::size_t>(RawRedis(port).Int({"DBSIZE"}));
  CHECK(keys_seen == 30);
  for (int i = 0; i < 30; ++i) {
    const std::string key = "key" + std::to_string(i);
    auto fetched = store->Fetch(key);
    REQUIRE(fetched.ok());
    REQUIRE(fetched->has_value());
    CHECK((*fetched)->value == "v" + key);
  }
}

}  // namespace
}  // namespace jeff::test
