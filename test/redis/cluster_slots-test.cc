// Key slots (CRC16/XMODEM, hash tags), redirect and CLUSTER SLOTS parsing,
// and the on-wire version prefix. No server needed.

#include "stores/redis/cluster_slots.hpp"
#include "stores/redis/compare_and_swap_script.hpp"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace jeff::redis_detail {
namespace {

struct ReaderFree {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};

// Parses RESP text into a reply, as the server would have sent it.
Reply Parse(std::string_view resp) {
  std::unique_ptr<redisReader, ReaderFree> reader(redisReaderCreate());
  REQUIRE(redisReaderFeed(reader.get(), resp.data(), resp.size()) == REDIS_OK);
  void* reply = nullptr;
  REQUIRE(redisReaderGetReply(reader.get(), &reply) == REDIS_OK);
  REQUIRE(reply != nullptr);
  return Reply(static_cast<redisReply*>(reply));
}

TEST_CASE("CRC16/XMODEM matches the Redis Cluster specification") {
  CHECK(Crc16("123456789") == 0x31C3);
  CHECK(Crc16("") == 0);
}

TEST_CASE("key slots are those Redis computes, honouring the first non-empty hash tag") {
  CHECK(KeySlot("foo") == 12182);
  CHECK(KeySlot("bar") == 5061);
  CHECK(KeySlot("{user1000}.following") == KeySlot("{user1000}.followers"));
  CHECK(KeySlot("{user1000}.following") == KeySlot("user1000"));
  CHECK(KeySlot("foo{}{bar}") == KeySlot("foo{}{bar}"));  // empty tag: the whole key
  CHECK(KeySlot("foo{}{bar}") != KeySlot("bar"));
  CHECK(KeySlot("foo{{bar}}zap") == KeySlot("{bar"));
  CHECK(KeySlot("foo{bar}{zap}") == KeySlot("bar"));
  CHECK(KeySlot("no-close{brace") == (Crc16("no-close{brace") & 16383));
  for (char c = 0; c < 127; ++c) CHECK(KeySlot(std::string(1, c)) < kClusterSlots);
}

TEST_CASE("redirects are parsed, and anything else is not a redirect") {
  const Endpoint from{"10.0.0.9", 7000};
  auto moved = ParseRedirect("MOVED 3999 127.0.0.1:6381", from);
  REQUIRE(moved);
  CHECK_FALSE(moved->ask);
  CHECK(moved->slot == 3999);
  CHECK(moved->to == Endpoint{"127.0.0.1", 6381});

  auto ask = ParseRedirect("ASK 12182 [::1]:7002", from);
  REQUIRE(ask);
  CHECK(ask->ask);
  CHECK(ask->to == Endpoint{"::1", 7002});
  CHECK(ParseRedirect("ASK 1 ::1:7002", from)->to == Endpoint{"::1", 7002});

  auto unknown_host = ParseRedirect("MOVED 1 :7001", from);
  REQUIRE(unknown_host);
  CHECK(unknown_host->to == Endpoint{"10.0.0.9", 7001});

  CHECK_FALSE(ParseRedirect("ERR unknown command", from));
  CHECK_FALSE(ParseRedirect("MOVED 16384 127.0.0.1:1", from));
  CHECK_FALSE(ParseRedirect("MOVED x 127.0.0.1:1", from));
  CHECK_FALSE(ParseRedirect("MOVED 1 127.0.0.1", from));
  CHECK_FALSE(ParseRedirect("MOVED 1 127.0.0.1:0", from));
  CHECK_FALSE(ParseRedirect("MOVED 1 127.0.0.1:70000", from));
  CHECK_FALSE(ParseRedirect("MOVED 1", from));
}

TEST_CASE("CLUSTER SLOTS replies are read; other shapes are protocol errors") {
  const Endpoint from{"192.0.2.1", 7000};
  Reply reply = Parse(
      "*2\r\n"
      "*4\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$4\r\nid-a\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$4\r\nid-d\r\n"
      "*3\r\n:8192\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n");
  auto ranges = ParseClusterSlots(*reply, from);
  REQUIRE(ranges.ok());
  REQUIRE(ranges->size() == 2);
  CHECK((*ranges)[0].first == 0);
  CHECK((*ranges)[0].last == 8191);
  CHECK((*ranges)[0].master == Endpoint{"127.0.0.1", 7000});
  CHECK((*ranges)[1].master == Endpoint{"192.0.2.1", 7001});  // empty host: the node asked

  CHECK(ParseClusterSlots(*Parse("$2\r\nno\r\n"), from).error() == Errc::kStoreProtocol);
  CHECK(ParseClusterSlots(*Parse("*1\r\n*2\r\n:0\r\n:1\r\n"), from).error() == Errc::kStoreProtocol);
  CHECK(ParseClusterSlots(*Parse("*1\r\n*3\r\n:5\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n"), from).error() ==
        Errc::kStoreProtocol);
  CHECK(ParseClusterSlots(*Parse("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n"), from)
            .error() == Errc::kStoreProtocol);
  CHECK(ParseClusterSlots(*Parse("*0\r\n"), from)->empty());
}

TEST_CASE("versions are 8 bytes big-endian in front of the value") {
  std::string out;
  AppendVersion(0x0102030405060708ULL, out);
  CHECK(out == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  CHECK(ReadVersion(out) == 0x0102030405060708ULL);
  out.clear();
  AppendVersion(~0ULL, out);
  CHECK(ReadVersion(out) == ~0ULL);
}

TEST_CASE("the script's SHA-1 is the lower-case hex EVALSHA expects") {
  CHECK(ScriptSha1("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(ScriptSha1(kCompareAndSwapScript).size() == 40);
}

TEST_CASE("error replies map onto store errors") {
  auto code = [](std::string_view resp) { return ErrorFromReply(*Parse(resp)); };
  CHECK(code("-LOADING Redis is loading the dataset in memory\r\n") == Errc::kStoreUnavailable);
  CHECK(code("-CLUSTERDOWN The cluster is down\r\n") == Errc::kStoreUnavailable);
  CHECK(jeff::ErrorDetail(Errc::kStoreUnavailable) == "CLUSTERDOWN The cluster is down");
  CHECK(code("-NOAUTH Authentication required.\r\n") == Errc::kStoreRefused);
  CHECK(jeff::ErrorDetail(Errc::kStoreRefused) == "NOAUTH Authentication required.");
  CHECK(code("-WRONGPASS invalid username-password pair\r\n") == Errc::kStoreRefused);
  CHECK(code("-NOPERM this user has no permissions to run the 'get' command\r\n") == Errc::kStoreRefused);
  CHECK(code("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n") ==
        Errc::kStoreCorrupt);
  CHECK(code("-ERR Error running script: @user_script:2: WRONGTYPE Operation\r\n") ==
        Errc::kStoreCorrupt);
  CHECK(code("-ERR unknown command\r\n") == Errc::kStoreProtocol);
  CHECK(jeff::ErrorDetail(Errc::kStoreProtocol) == "ERR unknown command");
}

}  // namespace
}  // namespace jeff::redis_detail
