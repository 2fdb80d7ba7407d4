// redis_detail::Connection against a real redis-server: bytes the server
// sends beyond the replies a call expects must break the connection (and
// fail the call), never be read as the next call's answer.

#include "redis_test_support.hpp"
#include "stores/redis/connection.hpp"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <array>
#include <chrono>
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

}  // namespace
}  // namespace jeff::test
