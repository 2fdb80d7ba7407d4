// redis_detail::Connection against a real redis-server: bytes the server
// sends beyond the replies a call expects must break the connection (and
// fail the call), never be read as the next call's answer. A server that
// refuses the connection's AUTH or SELECT is told apart from one that is
// down, in the server's own words. Commands are encoded byte for byte as
// hiredis' own formatter encodes them.

#include "redis_test_support.hpp"
#include "stores/redis/connection.hpp"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <jeff/stores/open_store.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <vector>
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

// hiredis' encoding of `command` (redisFormatCommandArgv), the reference.
std::string HiredisFormat(Command command) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (std::string_view arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* out = nullptr;
  const int n = redisFormatCommandArgv(&out, static_cast<int>(argv.size()), argv.data(), lengths.data());
  REQUIRE(n > 0);
  std::string formatted(out, static_cast<std::size_t>(n));
  redisFreeCommand(out);
  return formatted;
}

TEST_CASE("commands are encoded as hiredis encodes them") {
  const std::string nine(9, 'n'), ten(10, 't'), big(100000, 'b');
  const std::string binary("a\0b\r\nc", 7);
  const std::array<std::string_view, 1> ping{"PING"};
  const std::array<std::string_view, 2> get{"GET", "jeff:key"};
  const std::array<std::string_view, 3> odd{"SET", "", binary};
  const std::array<std::string_view, 4> lengths{"X", nine, ten, big};
  const std::array<std::string_view, 8> most{"EVALSHA", "sha", "1", "k", "", "v", "1000", "NX"};
  const std::array<Command, 5> commands{Command(ping), Command(get), Command(odd), Command(lengths),
                                        Command(most)};
  std::string all;
  std::string expected_all;
  for (Command command : commands) {
    CAPTURE(command[0]);
    const std::string expected = HiredisFormat(command);
    redis_detail::Formatted storage;
    auto formatted = redis_detail::FormatCommand(command, storage);
    REQUIRE(formatted.ok());
    CHECK(*formatted == expected);
    REQUIRE(redis_detail::WriteCommand(command, all).ok());
    expected_all += expected;
  }
  CHECK(all == expected_all);  // appended, one after the other

  // No argument, or more than 8: refused, and nothing written.
  const std::array<std::string_view, 9> too_many{"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  std::string out = "kept";
  CHECK(redis_detail::WriteCommand(Command(), out).error() == Errc::kInvalidArgument);
  CHECK(redis_detail::WriteCommand(Command(too_many), out).error() == Errc::kInvalidArgument);
  CHECK(out == "kept");
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
