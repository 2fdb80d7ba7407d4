// A revoke on a store that waits for replicas (Store::WaitsForReplicas:
// RedisStore / AsyncRedisStore with wait_replicas=1, on a real master with a
// real replica) writes even when it finds nothing to remove: the record is
// rewritten with a new version (an absent one is written empty), so that
// the store's WAIT covers what the revoke read, and a WAIT that fails (the
// replica stopped) is the revoke's store error. With wait_replicas=0 the
// same revokes write nothing. Both drivers: Sessions and AsyncSessions;
// and the stateless strategy's denylist entries likewise.

#include "redis_test_support.hpp"
#include "support/blocking_async.hpp"
#include "support/cookies.hpp"

#include <doctest/doctest.h>
#include <jeff/error.hpp>
#include <jeff/stores/redis/async_redis_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>
#include <jeff/token.hpp>

#include <boost/asio/io_context.hpp>
#include <hiredis/hiredis.h>

#include <random>
#include <span>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

// A master and its replica, for the whole file.
struct Replicated {
  std::unique_ptr<ServerProcess> master = StartRedis();
  std::unique_ptr<ServerProcess> replica =
      StartRedis({"--replicaof", "127.0.0.1", std::to_string(master->port())});
  Replicated() { WaitCaughtUp(); }

  // Polls (bounded) until the replica is online and has acknowledged all
  // the master wrote: after a start, or a pause.
  void WaitCaughtUp() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      const std::string info = RawRedis(master->port()).Text({"INFO", "replication"});
      // The value after `name`, up to a ',' or the line's end.
      const auto field = [&info](const std::string& name) {
        const std::size_t at = info.find(name);
        if (at == std::string::npos) return std::string();
        const std::size_t from = at + name.size();
        return info.substr(from, info.find_first_of(",\r", from) - from);
      };
      if (field("state=") == "online" && field("offset=") == field("master_repl_offset:")) return;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(20ms);
    }
  }
};

Replicated& Servers() {
  static Replicated servers;
  return servers;
}

RedisStoreOptions StoreOptions(int wait_replicas) {
  RedisStoreOptions o = LocalOptions(Servers().master->port());
  o.wait_replicas = wait_replicas;
  // Generous (a loaded machine): only the stopped replica may miss it.
  o.wait_timeout = 1s;
  o.command_timeout = 5s;
  return o;
}

Options SessionsOptions(const std::string& prefix) {
  Options o;
  o.key_prefix = prefix;
  return o;
}

// The raw value under a store key: "(nil)" when absent; its first 8 bytes
// are the version RedisStore wrote.
std::string Raw(const std::string& store_key) { return RawRedis(Servers().master->port()).Text({"GET", store_key}); }

// A cookie naming `key`'s key id with a token nobody was issued.
std::string ForgedCookie(const std::string& key) {
  return "jeff_session=" + KeyId(key) + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
}

// The revokes that find nothing to remove, through `api` (Sessions or
// BlockingAsync) on a store with `wait_replicas`: with replicas each one
// rewrites (the record's bytes change: a new version) and creates a missing
// record empty; without, none writes. Then, with the replica stopped, every
// such revoke fails with a store error when the store waits for it.
template <typename Api>
void RunRevokesThatRemoveNothing(Api& api, const std::string& prefix, bool replicated) {
  const std::string key = "user-" + prefix + "@example.com";
  const std::string store_key = prefix + KeyId(key);
  auto issued = api.Set(key, "meta");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);
  SessionId unknown{};
  unknown[0] = 1;

  // Each revoke below removes nothing; the session stays.
  std::string before = Raw(store_key);
  auto some = api.Delete(key, std::span<const SessionId>(&unknown, 1));
  REQUIRE(some.ok());
  CHECK(*some == 0);
  CHECK((Raw(store_key) != before) == replicated);
  before = Raw(store_key);
  REQUIRE(api.Clear(ForgedCookie(key)).ok());
  CHECK((Raw(store_key) != before) == replicated);
  CHECK(api.Check(cookie).ok());

  // The session removed, then removed again: the second writes only with replicas.
  auto removed = api.Delete(key, std::span<const SessionId>(&issued->session.id, 1));
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  before = Raw(store_key);
  REQUIRE(api.Delete(key, std::span<const SessionId>(&issued->session.id, 1)).ok());
  CHECK((Raw(store_key) != before) == replicated);
  CHECK(!api.Check(cookie).ok());

  // Keys that hold nothing: with replicas, each revoke writes an empty record.
  for (int revoke = 0; revoke < 3; ++revoke) {
    const std::string absent = "absent-" + std::to_string(revoke) + "-" + prefix + "@example.com";
    const std::string absent_store_key = prefix + KeyId(absent);
    REQUIRE(Raw(absent_store_key) == "(nil)");
    if (revoke == 0) REQUIRE(api.Delete(absent).ok());
    if (revoke == 1) REQUIRE(api.Delete(absent, std::span<const SessionId>(&unknown, 1)).ok());
    if (revoke == 2) REQUIRE(api.Clear(ForgedCookie(absent)).ok());
    CHECK((Raw(absent_store_key) != "(nil)") == replicated);
    // A login after it (the Clear's record did not know the key) names its key.
    auto later = api.Set(absent, "meta");
    REQUIRE(later.ok());
    const CheckResult checked = api.Check(CookieOf(*later));
    REQUIRE(checked.ok());
    CHECK(checked.session.key == absent);
  }

  // Delete(key) removes everything; once more it finds nothing.
  REQUIRE(api.Set(key, "meta").ok());
  auto all = api.Delete(key);
  REQUIRE(all.ok());
  CHECK(*all == 1);
  before = Raw(store_key);
  REQUIRE(api.Delete(key).ok());
  CHECK((Raw(store_key) != before) == replicated);

  // No replica acknowledges: a revoke that waits for one fails, even when
  // it removed nothing; one that does not wait succeeds.
  Servers().replica->Pause();
  auto paused_some = api.Delete(key, std::span<const SessionId>(&unknown, 1));
  auto paused_clear = api.Clear(ForgedCookie(key));
  auto paused_all = api.Delete(key);
  Servers().replica->Resume();
  Servers().WaitCaughtUp();
  CHECK(paused_some.ok() != replicated);
  CHECK(paused_clear.ok() != replicated);
  CHECK(paused_all.ok() != replicated);
  if (replicated) {
    CHECK(IsStoreError(paused_some.error()));
    CHECK(IsStoreError(paused_clear.error()));
    CHECK(IsStoreError(paused_all.error()));
  }
}

std::string UniquePrefix(const char* tag) { return std::string(tag) + std::to_string(std::random_device{}()) + ":"; }

TEST_CASE("Sessions: a revoke that removes nothing writes and waits only when the store waits for replicas") {
  for (int wait_replicas : {1, 0}) {
    CAPTURE(wait_replicas);
    auto store = std::make_shared<RedisStore>(StoreOptions(wait_replicas));
    CHECK(store->WaitsForReplicas() == (wait_replicas > 0));
    const std::string prefix = UniquePrefix("rs");
    Options o = SessionsOptions(prefix);
    o.store = store;
    Sessions sessions(o);
    RunRevokesThatRemoveNothing(sessions, prefix, wait_replicas > 0);
  }
}

TEST_CASE("AsyncSessions: a revoke that removes nothing writes and waits only when the store waits for replicas") {
  for (int wait_replicas : {1, 0}) {
    CAPTURE(wait_replicas);
    boost::asio::io_context ioc;
    AsyncRedisStoreOptions ao;
    ao.redis = StoreOptions(wait_replicas);
    auto store = std::make_shared<AsyncRedisStore>(std::move(ao), ioc.get_executor());
    CHECK(store->WaitsForReplicas() == (wait_replicas > 0));
    const std::string prefix = UniquePrefix("ra");
    AsyncSessions sessions(SessionsOptions(prefix), store, ioc.get_executor());
    BlockingAsync api(sessions, ioc);
    RunRevokesThatRemoveNothing(api, prefix, wait_replicas > 0);
  }
}

TEST_CASE("stateless: revoking an id already denied writes its entry again only when the denylist waits for replicas") {
  for (int wait_replicas : {1, 0}) {
    CAPTURE(wait_replicas);
    const bool replicated = wait_replicas > 0;
    const std::string prefix = UniquePrefix("rd");
    Options o = SessionsOptions(prefix);
    o.stateless.secrets = {"replicated-revoke-test-secret-0123456789"};
    o.stateless.denylist = std::make_shared<RedisStore>(StoreOptions(wait_replicas));
    Sessions sessions(o);
    SessionId id{};
    id[0] = 7;
    const std::span<const SessionId> ids(&id, 1);
    auto first = sessions.Delete("dora@example.com", ids);
    REQUIRE(first.ok());
    CHECK(*first == 1);
    // The one key under the prefix: the entry.
    auto keys = RawRedis(Servers().master->port()).Raw({"KEYS", prefix + "*"});
    REQUIRE(keys->elements == 1);
    const std::string entry(keys->element[0]->str, keys->element[0]->len);
    const std::string before = Raw(entry);
    auto again = sessions.Delete("dora@example.com", ids);
    REQUIRE(again.ok());
    CHECK(*again == 0);
    CHECK((Raw(entry) != before) == replicated);

    Servers().replica->Pause();
    auto paused = sessions.Delete("dora@example.com", ids);
    Servers().replica->Resume();
    Servers().WaitCaughtUp();
    CHECK(paused.ok() != replicated);
  }
}

}  // namespace
}  // namespace jeff::test
