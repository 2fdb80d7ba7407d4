// redis_detail::Connection against a real redis-server: bytes the server
// sends beyond the replies a call expects must break the connection (and
// fail the call), never be read as the next call's answer. A server that
// refuses the connection's AUTH or SELECT is told apart from one that is
// down, in the server's own words.

#include "redis_test_support.hpp"
#include "stores/redis/connection.hpp"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <jeff/stores/open_store.hpp>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

namespace jeff::test {
namespace {

using redis_detail::Command;
using redis_detail::Connection;
using redis_detail::Reply;

redis_detail::Deadline Soon() { return redis_detail::SteadyClock::now() + std::chrono::seconds(5); }

Result<void> Send(Connection& connection, std::span<const std::string_view> argv, Reply& reply) {
  const std::array<Command, 1> commands{Command(argv)};
  return connection.Exchange(commands, std::span<Reply>(&reply, 1), Soon());
}

TEST_CASE("bytes left after the expected replies break the connection") {
  auto server = StartRedis();
  auto opened = Connection::Open({"127.0.0.1", server->port()}, {});
  REQUIRE(opened.ok());
  Connection& connection = **opened;

  Reply reply;
  const std::array<std::string_view, 1> ping{"PING"};
  REQUIRE(Send(connection, ping, reply).ok());
  CHECK(redis_detail::ReplyText(*reply) == "PONG");
  CHECK_FALSE(connection.broken());

  // One command, two replies: redis-server writes both confirmations of a
  // two-channel SUBSCRIBE in one write, so the second is in the reader when
  // the first has been parsed.
  const std::array<std::string_view, 3> subscribe{"SUBSCRIBE", "jeff-a", "jeff-b"};
  CHECK(Send(connection, subscribe, reply).error() == Errc::kStoreProtocol);
  CHECK(connection.broken());
  CHECK(Send(connection, ping, reply).error() == Errc::kStoreUnavailable);
}

TEST_CASE("a connection that read exactly its replies stays usable") {
  auto server = StartRedis();
  auto opened = Connection::Open({"127.0.0.1", server->port()}, {});
  REQUIRE(opened.ok());
  Connection& connection = **opened;
  const std::array<std::string_view, 3> set{"SET", "k", "v"};
  const std::array<std::string_view, 2> get{"GET", "k"};
  const std::array<Command, 2> both{Command(set), Command(get)};
  std::array<Reply, 2> replies;
  for (int round = 0; round < 100; ++round) {
    REQUIRE(connection.Exchange(both, replies, Soon()).ok());
    CHECK(redis_detail::ReplyText(*replies[1]) == "v");
  }
  CHECK_FALSE(connection.broken());
}

bool Has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// The error of a Fetch through the store `url` names, and its reason.
std::pair<std::error_code, std::string> FetchError(Store& store) {
  const auto fetched = store.Fetch("refusal-probe");
  REQUIRE_FALSE(fetched.ok());
  return {fetched.error(), ErrorDetail(fetched.error())};
}

TEST_CASE("a wrong password, no password or a bad database index is a refusal, with the server's reason") {
  auto server = StartRedis({"--requirepass", "right pass"});
  const std::string at = "127.0.0.1:" + std::to_string(server->port());

  auto wrong = OpenStore("redis://:Wr0ngPw%25zz@" + at);
  for (int call = 0; call < 2; ++call) {  // the second fails fast while backing off: same reason
    CAPTURE(call);
    const auto [code, detail] = FetchError(*wrong);
    CHECK(code == Errc::kStoreRefused);
    CHECK(Has(detail, at + ": AUTH: WRONGPASS"));
    CHECK_FALSE(Has(detail, "Wr0ngPw"));
    CHECK(Has(DescribeError(code), "session store refused the request: " + at + ": AUTH: WRONGPASS"));
  }

  const auto [no_auth, no_auth_detail] = FetchError(*OpenStore("redis://" + at));
  CHECK(no_auth == Errc::kStoreRefused);
  CHECK(Has(no_auth_detail, "NOAUTH"));

  const auto [bad_db, bad_db_detail] = FetchError(*OpenStore("redis://:right%20pass@" + at + "/99"));
  CHECK(bad_db == Errc::kStoreRefused);
  CHECK(Has(bad_db_detail, at + ": SELECT 99: ERR DB index is out of range"));

  // A server that is not there at all is an outage, and says where.
  const std::string down = "127.0.0.1:" + std::to_string(FreePort());
  const auto [outage, outage_detail] = FetchError(*OpenStore("redis://" + down));
  CHECK(outage == Errc::kStoreUnavailable);
  CHECK(Has(outage_detail, down + ": connect: Connection refused"));
  // The refusal's reason is not read as this outage's.
  CHECK(ErrorDetail(Errc::kStoreRefused) == "");
}

}  // namespace
}  // namespace jeff::test
