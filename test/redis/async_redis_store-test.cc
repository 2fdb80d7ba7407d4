// AsyncRedisStore against real redis-server processes: the store semantics,
// 1000 calls pipelined on one connection, interoperation with RedisStore on
// the same server, and outages (a stopped server: every pending call times
// out on time while the loop keeps running; a killed server; garbage).

#include "redis_test_support.hpp"
#include "sentinel_test_support.hpp"
#include "tls_test_support.hpp"
#include "support/store_contract.hpp"
#include "support/timing.hpp"

#include <doctest/doctest.h>
#include <jeff/error.hpp>
#include <jeff/store_url.hpp>
#include <jeff/stores/redis/async_redis_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include "stores/redis/cluster_slots.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace jeff::test {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
const std::chrono::minutes kLongTtl(10);

AsyncRedisStoreOptions AsyncOptions(std::uint16_t port) {
  AsyncRedisStoreOptions o;
  o.redis = LocalOptions(port);
  return o;
}

// Runs `ioc` until `done()` holds; fails the test after `limit`.
void RunUntil(asio::io_context& ioc, const std::function<bool()>& done,
              milliseconds limit = milliseconds(10000)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    REQUIRE(Clock::now() < deadline);
    ioc.restart();
    ioc.run_one_for(milliseconds(10));
  }
}

// The synchronous face of one call, for set-up and checks: runs the loop
// until the handler was called.
template <typename T, typename Start>
Result<T> Wait(asio::io_context& ioc, Start start) {
  std::optional<Result<T>> out;
  start([&](Result<T> r) { out.emplace(std::move(r)); });
  RunUntil(ioc, [&] { return out.has_value(); });
  return std::move(*out);
}

Result<std::optional<Versioned>> Fetch(asio::io_context& ioc, AsyncStore& s, const std::string& k) {
  return Wait<std::optional<Versioned>>(ioc, [&](auto h) { s.AsyncFetch(k, h); });
}
Result<bool> Swap(asio::io_context& ioc, AsyncStore& s, const std::string& k,
                  std::optional<Version> expected, const std::string& v,
                  milliseconds ttl = kLongTtl) {
  return Wait<bool>(ioc, [&](auto h) { s.AsyncCompareAndSwap(k, expected, v, ttl, h); });
}
Result<void> Erase(asio::io_context& ioc, AsyncStore& s, const std::string& k) {
  return Wait<void>(ioc, [&](auto h) { s.AsyncErase(k, h); });
}

long ConnectedClients(RawRedis& raw) {
  const std::string info = raw.Text({"INFO", "clients"});
  const auto at = info.find("connected_clients:");
  REQUIRE(at != std::string::npos);
  return std::stol(info.substr(at + 18));
}

TEST_CASE("AsyncRedisStore: fetch, compare-and-swap and erase keep the Store semantics") {
  auto server = StartRedis();
  asio::io_context ioc;
  AsyncRedisStore store(AsyncOptions(server->port()), ioc.get_executor());
  const std::string key = UniqueKey("async-semantics");

  CHECK_FALSE(Fetch(ioc, store, key).value().has_value());
  CHECK(Swap(ioc, store, key, std::nullopt, "one").value());
  CHECK_FALSE(Swap(ioc, store, key, std::nullopt, "again").value());  // not absent: lost race
  auto first = Fetch(ioc, store, key).value();
  REQUIRE(first.has_value());
  CHECK(first->value == "one");
  CHECK(Swap(ioc, store, key, first->version, "two").value());
  CHECK_FALSE(Swap(ioc, store, key, first->version, "stale").value());  // version moved on
  auto second = Fetch(ioc, store, key).value();
  REQUIRE(second.has_value());
  CHECK(second->value == "two");
  CHECK(second->version != first->version);
  CHECK_FALSE(Swap(ioc, store, UniqueKey("async-missing"), 42, "x").value());  // gone: lost race

  const std::string binary("a\0b\r\n\xff", 6);
  const std::string bin_key = UniqueKey("async-binary");
  CHECK(Swap(ioc, store, bin_key, std::nullopt, binary).value());
  CHECK(Fetch(ioc, store, bin_key).value()->value == binary);
  CHECK(Swap(ioc, store, UniqueKey("async-empty"), std::nullopt, "").value());

  CHECK(Erase(ioc, store, key).ok());
  CHECK_FALSE(Fetch(ioc, store, key).value().has_value());
  CHECK(Erase(ioc, store, key).ok());  // already missing: success

  CHECK(Swap(ioc, store, key, std::nullopt, "x", milliseconds(0)).error() ==
        Errc::kInvalidArgument);
  CHECK(Swap(ioc, store, key, std::nullopt, std::string((1 << 20) + 1, 'x')).error() ==
        Errc::kValueTooLarge);

  // Expiry: the TTL is set with the value.
  const std::string short_key = UniqueKey("async-ttl");
  CHECK(Swap(ioc, store, short_key, std::nullopt, "brief", milliseconds(100)).value());
  RawRedis raw(server->port());
  CHECK(raw.Int({"PTTL", short_key}) <= 100);
  CHECK(raw.Int({"PTTL", short_key}) > 0);

  // A value without a version, or of another type: corrupt, not missing.
  const std::string short_value = UniqueKey("async-short");
  raw.Text({"SET", short_value, "abc"});
  CHECK(Fetch(ioc, store, short_value).error() == Errc::kStoreCorrupt);
  CHECK(Swap(ioc, store, short_value, 7, "x").error() == Errc::kStoreCorrupt);
  const std::string list = UniqueKey("async-list");
  raw.Int({"LPUSH", list, "x"});
  CHECK(Fetch(ioc, store, list).error() == Errc::kStoreCorrupt);

  // A host name is resolved off the loop; a key prefix is applied; two
  // connections share the calls.
  AsyncRedisStoreOptions named = AsyncOptions(server->port());
  named.redis.hosts = {{"localhost", server->port()}};
  named.redis.key_prefix = "async-prefix:";
  named.connections = 2;
  AsyncRedisStore by_name(named, ioc.get_executor());
  const std::string prefixed = UniqueKey("prefixed");
  CHECK(Swap(ioc, by_name, prefixed, std::nullopt, "p").value());
  CHECK(Fetch(ioc, by_name, prefixed).value()->value == "p");
  CHECK(raw.Int({"EXISTS", "async-prefix:" + prefixed}) == 1);
}

TEST_CASE(
    "AsyncRedisStore: 1000 concurrent calls pipelined on one connection all get their own answer") {
  auto server = StartRedis();
  RawRedis raw(server->port());
  const long clients_before = ConnectedClients(raw);
  asio::io_context ioc;
  AsyncRedisStore store(AsyncOptions(server->port()), ioc.get_executor());
  constexpr int kCalls = 1000;
  std::vector<std::string> keys;
  for (int i = 0; i < kCalls; ++i) keys.push_back(UniqueKey("pipelined-" + std::to_string(i)));

  int written = 0, write_errors = 0;
  for (int i = 0; i < kCalls; ++i) {
    store.AsyncCompareAndSwap(keys[i], std::nullopt, "value-" + std::to_string(i), kLongTtl,
                              [&](Result<bool> r) {
                                ++written;
                                if (!r.ok() || !*r) ++write_errors;
                              });
  }
  CHECK(written == 0);  // nothing completes before the loop runs
  RunUntil(ioc, [&] { return written == kCalls; });
  CHECK(write_errors == 0);
  CHECK(ConnectedClients(raw) == clients_before + 1);

  int read = 0, wrong = 0;
  std::vector<Version> versions(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    store.AsyncFetch(keys[i], [&, i](Result<std::optional<Versioned>> r) {
      ++read;
      if (!r.ok() || !r->has_value() || (*r)->value != "value-" + std::to_string(i))
        ++wrong;
      else
        versions[i] = (*r)->version;
    });
  }
  RunUntil(ioc, [&] { return read == kCalls; });
  CHECK(wrong == 0);

  // Mixed operations in flight together: a CAS with the right version, then
  // a read of the new value, then an erase, for every key at once. On one
  // connection they run in order, once the script is cached (a NOSCRIPT
  // retry would go out behind the calls made after it).
  const std::string warm = UniqueKey("warm-script");
  REQUIRE(Swap(ioc, store, warm, std::nullopt, "w").value());
  REQUIRE(Swap(ioc, store, warm, Fetch(ioc, store, warm).value()->version, "w2").value());
  int done = 0;
  wrong = 0;
  for (int i = 0; i < kCalls; ++i) {
    store.AsyncCompareAndSwap(keys[i], versions[i], "next-" + std::to_string(i), kLongTtl,
                              [&](Result<bool> r) {
                                ++done;
                                if (!r.ok() || !*r) ++wrong;
                              });
    store.AsyncFetch(keys[i], [&, i](Result<std::optional<Versioned>> r) {
      ++done;
      if (!r.ok() || !r->has_value() || (*r)->value != "next-" + std::to_string(i)) ++wrong;
    });
    store.AsyncErase(keys[i], [&](Result<void> r) {
      ++done;
      if (!r.ok()) ++wrong;
    });
  }
  RunUntil(ioc, [&] { return done == 3 * kCalls; });
  CHECK(wrong == 0);
  CHECK(raw.Int({"EXISTS", keys.front()}) == 0);
  CHECK(ConnectedClients(raw) == clients_before + 1);
}

// GETs the server has run so far (INFO commandstats).
long long GetCalls(RawRedis& raw) {
  const std::string info = raw.Text({"INFO", "commandstats"});
  const auto at = info.find("cmdstat_get:calls=");
  return at == std::string::npos ? 0 : std::stoll(info.substr(at + 18));
}

TEST_CASE(
    "AsyncRedisStore: a burst of replies is handled in parts, the follow-ups written in between") {
  // 256 Fetches go out in one write and their replies (~30 KB) come back at
  // once; every reply's handler starts a follow-up Fetch. Handled all in one
  // turn, the follow-ups would reach the server only after the last reply
  // (client and server taking turns); handled a read of at most 16 KB at a
  // time, the first part's follow-ups are at the server while the 200th
  // reply (byte ~23,000) is handled.
  auto server = StartRedis();
  RawRedis raw(server->port());
  asio::io_context ioc;
  AsyncRedisStore store(AsyncOptions(server->port()), ioc.get_executor());
  const std::string key = UniqueKey("burst");
  REQUIRE(Swap(ioc, store, key, std::nullopt, std::string(100, 'v')).value());
  constexpr int kBurst = 256;
  const long long gets_before = GetCalls(raw);
  int answered = 0, followed = 0, failed = 0;
  bool overlapped = false;
  for (int i = 0; i < kBurst; ++i) {
    store.AsyncFetch(key, [&](Result<std::optional<Versioned>> r) {
      if (!r.ok()) ++failed;
      store.AsyncFetch(key, [&](Result<std::optional<Versioned>> again) {
        ++followed;
        if (!again.ok()) ++failed;
      });
      if (++answered != 200) return;
      // The loop waits here: only follow-ups written before this reply
      // was handled can reach the server.
      const auto deadline = Clock::now() + std::chrono::seconds(5);
      while (!overlapped && Clock::now() < deadline) overlapped = GetCalls(raw) > gets_before + kBurst;
    });
  }
  RunUntil(ioc, [&] { return followed == kBurst; });
  CHECK(failed == 0);
  CHECK(overlapped);
}

TEST_CASE("AsyncRedisStore and RedisStore share a server: values and versions interoperate") {
  auto server = StartRedis();
  asio::io_context ioc;
  AsyncRedisStore async(AsyncOptions(server->port()), ioc.get_executor());
  RedisStore sync(LocalOptions(server->port()));

  const std::string key = UniqueKey("interop");
  REQUIRE(sync.CompareAndSwap(key, std::nullopt, "from-sync", kLongTtl).value());
  CHECK_FALSE(Swap(ioc, async, key, std::nullopt, "dup").value());
  auto seen = Fetch(ioc, async, key).value();
  REQUIRE(seen.has_value());
  CHECK(seen->value == "from-sync");
  CHECK(seen->version == sync.Fetch(key).value()->version);

  CHECK(Swap(ioc, async, key, seen->version, "from-async").value());
  auto back = sync.Fetch(key).value();
  REQUIRE(back.has_value());
  CHECK(back->value == "from-async");
  CHECK_FALSE(sync.CompareAndSwap(key, seen->version, "stale", kLongTtl).value());
  CHECK(sync.CompareAndSwap(key, back->version, "sync-again", kLongTtl).value());
  CHECK_FALSE(Swap(ioc, async, key, back->version, "stale").value());
  CHECK(Fetch(ioc, async, key).value()->value == "sync-again");

  CHECK(Erase(ioc, async, key).ok());
  CHECK_FALSE(sync.Fetch(key).value().has_value());
}

TEST_CASE("AsyncRedisStore and RedisStore race on one key: compare-and-swap loses no increment") {
  auto server = StartRedis();
  asio::io_context ioc;
  AsyncRedisStoreOptions o = AsyncOptions(server->port());
  o.connections = 2;  // the async workers' calls interleave over two connections
  AsyncRedisStore async(o, ioc.get_executor());
  RedisStore sync(LocalOptions(server->port()));
  const std::string key = UniqueKey("race");
  REQUIRE(sync.CompareAndSwap(key, std::nullopt, "0", kLongTtl).value());

  constexpr int kAsyncWorkers = 8, kSyncThreads = 4, kIncrements = 100;
  // An async worker: read, add one, CAS; on a lost race read again.
  int finished = 0, async_errors = 0;
  long async_lost = 0;
  std::function<void(int)> increment = [&](int left) {
    if (left == 0) {
      ++finished;
      return;
    }
    async.AsyncFetch(key, [&, left](Result<std::optional<Versioned>> got) {
      if (!got.ok() || !got->has_value()) {
        ++async_errors;
        ++finished;
        return;
      }
      const std::string next = std::to_string(std::stol((*got)->value) + 1);
      async.AsyncCompareAndSwap(key, (*got)->version, next, kLongTtl, [&, left](Result<bool> r) {
        if (!r.ok()) {
          ++async_errors;
          ++finished;
          return;
        }
        if (!*r) ++async_lost;
        increment(*r ? left - 1 : left);
      });
    });
  };
  std::atomic<long> sync_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kSyncThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        auto got = sync.Fetch(key);
        if (!got.ok() || !got->has_value()) {
          sync_errors.fetch_add(1);
          return;
        }
        const std::string next = std::to_string(std::stol((*got)->value) + 1);
        auto swapped = sync.CompareAndSwap(key, (*got)->version, next, kLongTtl);
        if (!swapped.ok()) {
          sync_errors.fetch_add(1);
          return;
        }
        if (*swapped) ++done;
      }
    });
  }
  for (int w = 0; w < kAsyncWorkers; ++w) increment(kIncrements);
  RunUntil(
      ioc, [&] { return finished == kAsyncWorkers; }, milliseconds(60000));
  for (auto& t : threads) t.join();
  MESSAGE("async lost races (retried): " << async_lost);
  CHECK(async_errors == 0);
  CHECK(sync_errors.load() == 0);
  CHECK(sync.Fetch(key).value()->value ==
        std::to_string((kAsyncWorkers + kSyncThreads) * kIncrements));
}

TEST_CASE("AsyncRedisStore: a flushed script cache is reloaded (NOSCRIPT, then EVAL)") {
  auto server = StartRedis();
  asio::io_context ioc;
  AsyncRedisStore store(AsyncOptions(server->port()), ioc.get_executor());
  RawRedis raw(server->port());
  const std::string key = UniqueKey("noscript");
  REQUIRE(Swap(ioc, store, key, std::nullopt, "v0").value());
  for (int i = 1; i <= 3; ++i) {
    raw.Text({"SCRIPT", "FLUSH"});
    const Version v = Fetch(ioc, store, key).value()->version;
    CHECK(Swap(ioc, store, key, v, "v" + std::to_string(i)).value());
    CHECK(Fetch(ioc, store, key).value()->value == "v" + std::to_string(i));
  }
}

TEST_CASE("AsyncRedisStore: AUTH and SELECT on connect; refused credentials are a refusal") {
  auto server = StartRedis({"--requirepass", "s3cret pass"});
  asio::io_context ioc;
  AsyncRedisStoreOptions o = AsyncOptions(server->port());
  o.redis.password = "s3cret pass";
  o.redis.db = 3;
  AsyncRedisStore store(o, ioc.get_executor());
  const std::string key = UniqueKey("auth-select");
  REQUIRE(Swap(ioc, store, key, std::nullopt, "in-db-3").value());
  RawRedis raw(server->port(), "s3cret pass");
  CHECK(raw.Int({"EXISTS", key}) == 0);  // not in db 0
  raw.Text({"SELECT", "3"});
  CHECK(raw.Int({"EXISTS", key}) == 1);

  o.redis.password = "wrong";
  AsyncRedisStore refused(o, ioc.get_executor());
  CHECK(Fetch(ioc, refused, key).error() == Errc::kStoreRefused);
}

// The error of one AsyncFetch, and its reason as the handler reads it on
// the loop thread.
std::pair<std::error_code, std::string> FetchFailure(asio::io_context& ioc, AsyncStore& store) {
  std::optional<std::pair<std::error_code, std::string>> out;
  store.AsyncFetch("refusal-probe", [&](Result<std::optional<Versioned>> r) {
    REQUIRE_FALSE(r.ok());
    out.emplace(r.error(), ErrorDetail(r.error()));
  });
  RunUntil(ioc, [&] { return out.has_value(); });
  return *out;
}

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("AsyncRedisStore: a refusal or an outage carries its reason to the handler") {
  auto server = StartRedis({"--requirepass", "right pass"});
  const std::string at = "127.0.0.1:" + std::to_string(server->port());
  asio::io_context ioc;
  AsyncRedisStoreOptions o = AsyncOptions(server->port());

  o.redis.password = "Wr0ngPw";
  AsyncRedisStore wrong(o, ioc.get_executor());
  for (int call = 0; call < 2; ++call) {  // the second fails fast while backing off: same reason
    CAPTURE(call);
    NoteError(Errc::kStoreRefused, "an older reason");
    const auto [code, detail] = FetchFailure(ioc, wrong);
    CHECK(code == Errc::kStoreRefused);
    CHECK(Has(detail, at + ": AUTH: WRONGPASS"));
    CHECK_FALSE(Has(detail, "Wr0ngPw"));
  }

  o.redis.password = "";
  AsyncRedisStore no_auth(o, ioc.get_executor());
  const auto [no_auth_code, no_auth_detail] = FetchFailure(ioc, no_auth);
  CHECK(no_auth_code == Errc::kStoreRefused);
  CHECK(Has(no_auth_detail, "NOAUTH Authentication required"));

  o.redis.password = "right pass";
  o.redis.db = 99;
  AsyncRedisStore bad_db(o, ioc.get_executor());
  const auto [bad_db_code, bad_db_detail] = FetchFailure(ioc, bad_db);
  CHECK(bad_db_code == Errc::kStoreRefused);
  CHECK(Has(bad_db_detail, at + ": SELECT 99: ERR DB index is out of range"));

  // A refusal of one command on a live connection: out of memory.
  o.redis.db = 0;
  AsyncRedisStore store(o, ioc.get_executor());
  const std::string key = UniqueKey("oom");
  REQUIRE(Swap(ioc, store, key, std::nullopt, "v0").value());
  RawRedis raw(server->port(), "right pass");
  raw.Text({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  raw.Text({"CONFIG", "SET", "maxmemory", "1"});
  std::optional<std::pair<std::error_code, std::string>> oom;
  store.AsyncCompareAndSwap(UniqueKey("oom"), std::nullopt, "v", kLongTtl, [&](Result<bool> r) {
    REQUIRE_FALSE(r.ok());
    oom.emplace(r.error(), ErrorDetail(r.error()));
  });
  RunUntil(ioc, [&] { return oom.has_value(); });
  raw.Text({"CONFIG", "SET", "maxmemory", "0"});
  CHECK(oom->first == Errc::kStoreUnavailable);
  CHECK(Has(oom->second, "OOM command not allowed"));

  // Nothing listening: an outage, and where.
  const std::uint16_t free_port = FreePort();
  const std::string down = "127.0.0.1:" + std::to_string(free_port);
  AsyncRedisStore nobody(AsyncOptions(free_port), ioc.get_executor());
  const auto [outage, outage_detail] = FetchFailure(ioc, nobody);
  CHECK(outage == Errc::kStoreUnavailable);
  CHECK(Has(outage_detail, down + ": connect: Connection refused"));
  CHECK(ErrorDetail(Errc::kStoreRefused) == "");  // the refusals' reasons are not this one's
}

TEST_CASE(
    "AsyncRedisStore: a stopped server times every pending call out, the loop keeps running") {
  auto server = StartRedis();
  asio::io_context ioc;
  AsyncRedisStoreOptions o = AsyncOptions(server->port());
  const milliseconds timeout(300);
  o.redis.command_timeout = timeout;
  o.redis.connect_timeout = timeout;
  AsyncRedisStore store(o, ioc.get_executor());
  const std::string key = UniqueKey("paused");
  const std::string other = UniqueKey("paused-other");
  REQUIRE(Swap(ioc, store, key, std::nullopt, "value-of-key").value());
  REQUIRE(Swap(ioc, store, other, std::nullopt, "value-of-other").value());

  // A 10 ms repeating timer on the same loop measures how late it fires.
  asio::steady_timer ticker(ioc);
  Clock::time_point first_due;
  milliseconds worst_lateness{0};
  long ticks = 0, late_ticks = 0;
  bool ticking = true;
  std::function<void(Clock::time_point)> tick = [&](Clock::time_point due) {
    ticker.expires_at(due);
    ticker.async_wait([&, due](const boost::system::error_code& ec) {
      if (ec || !ticking) return;
      ++ticks;
      const auto lateness = std::chrono::duration_cast<milliseconds>(Clock::now() - due);
      worst_lateness = std::max(worst_lateness, lateness);
      if (lateness > milliseconds(20)) {
        ++late_ticks;
        MESSAGE("tick due at " << std::chrono::duration_cast<milliseconds>(due - first_due).count()
                               << " ms ran " << lateness.count() << " ms late");
      }
      tick(Clock::now() + milliseconds(10));  // one stall makes one late tick
    });
  };
  server->Pause();
  first_due = Clock::now() + milliseconds(10);
  tick(first_due);
  constexpr int kCalls = 500;
  const auto start = Clock::now();
  int completed = 0, timeouts = 0;
  milliseconds slowest{0}, fastest{milliseconds::max()};
  for (int i = 0; i < kCalls; ++i) {
    auto record = [&](std::error_code e) {
      ++completed;
      if (e == Errc::kStoreTimeout) ++timeouts;
      const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      slowest = std::max(slowest, took);
      fastest = std::min(fastest, took);
    };
    if (i % 2 == 0) {
      store.AsyncFetch(i % 4 ? key : other,
                       [record](Result<std::optional<Versioned>> r) { record(r.error()); });
    } else {
      store.AsyncCompareAndSwap(UniqueKey("p"), std::nullopt, "x", kLongTtl,
                                [record](Result<bool> r) { record(r.error()); });
    }
  }
  RunUntil(ioc, [&] { return completed == kCalls; });
  // Let the ticker run a little longer with a stopped server and new calls
  // timing out: the loop must never stall.
  int later = 0;
  const auto later_start = Clock::now();
  while (Clock::now() - later_start < milliseconds(700)) {
    std::optional<std::error_code> one;
    store.AsyncFetch(key, [&](Result<std::optional<Versioned>> r) { one = r.error(); });
    RunUntil(ioc, [&] { return one.has_value(); });
    CHECK(*one == Errc::kStoreTimeout);
    ++later;
  }
  MESSAGE(kCalls << " calls with the server stopped: all done between " << fastest.count()
                 << " and " << slowest.count() << " ms for a " << timeout.count()
                 << " ms timeout; 10 ms ticker: " << ticks << " ticks, worst "
                 << worst_lateness.count() << " ms late, " << late_ticks
                 << " more than 20 ms late; " << later << " more calls timed out one by one");
  CHECK(timeouts == kCalls);
  CHECK(fastest >= timeout - milliseconds(10));
  JEFF_CHECK_WITHIN(slowest, timeout + milliseconds(150));
  // A loop blocked on the server would miss ticks by the whole timeout. A
  // loaded test machine may deschedule the process now and then: at most
  // two ticks may be more than 20 ms late (in optimised builds; sanitizer
  // builds spend several times the CPU on each call, as in loop_stall).
  if constexpr (!kSanitized) {
    CHECK(late_ticks <= 2);
    CHECK(worst_lateness < timeout / 2);
  }

  server->Resume();
  // The same store recovers; the connection that timed out was closed, so
  // the stopped server's late replies are never read as other calls'.
  const auto resumed = Clock::now();
  for (;;) {
    if (Fetch(ioc, store, key).ok()) break;
    REQUIRE(Clock::now() - resumed < milliseconds(10000));
  }
  for (int i = 0; i < 100; ++i) {
    std::vector<std::pair<std::string, std::string>> expect{{key, "value-of-key"},
                                                            {other, "value-of-other"}};
    int ok = 0;
    for (auto& [k, v] : expect) {
      store.AsyncFetch(k, [&, v](Result<std::optional<Versioned>> r) {
        if (r.ok() && r->has_value() && (*r)->value == v)
          ++ok;
        else
          ok = -1000;
      });
    }
    RunUntil(ioc, [&] { return ok != 0 && (ok < 0 || ok == 2); });
    CHECK(ok == 2);
  }
  ticking = false;
  ticker.cancel();
}

TEST_CASE(
    "AsyncRedisStore: a killed server is unavailable at once; the store recovers after restart") {
  auto server = StartRedis();
  asio::io_context ioc;
  AsyncRedisStore store(AsyncOptions(server->port()), ioc.get_executor());
  const std::string key = UniqueKey("killed");
  REQUIRE(Swap(ioc, store, key, std::nullopt, "before").value());

  server->Kill();
  // The call on the connection the kill broke, then calls that find no
  // server (refused, then failing fast during the back-off): all unavailable,
  // none waiting for a timeout (connect_timeout 2 s, command_timeout 5 s).
  const milliseconds at_once = AsyncOptions(0).redis.connect_timeout / 2;
  for (int i = 0; i < 20; ++i) {
    std::error_code error;
    const auto took = Timed([&] { error = Fetch(ioc, store, key).error(); });
    CHECK(error == Errc::kStoreUnavailable);
    CHECK(took < at_once);
  }
  server->Restart();
  const auto restarted = Clock::now();
  for (;;) {
    auto got = Fetch(ioc, store, key);
    if (got.ok()) {
      CHECK_FALSE(got->has_value());  // a fresh server: no data
      break;
    }
    CHECK(got.error() == Errc::kStoreUnavailable);
    REQUIRE(Clock::now() - restarted < milliseconds(10000));
  }
  CHECK(Swap(ioc, store, key, std::nullopt, "after").value());
}

TEST_CASE("AsyncRedisStore: nothing listening, silence and garbage are store errors") {
  asio::io_context ioc;
  AsyncRedisStoreOptions o = AsyncOptions(FreePort());
  o.redis.command_timeout = milliseconds(200);
  o.redis.connect_timeout = milliseconds(200);
  {
    AsyncRedisStore nobody(o, ioc.get_executor());
    CHECK(Fetch(ioc, nobody, "k").error() == Errc::kStoreUnavailable);
  }
  {
    FakeServer silent;
    o.redis.hosts = {{"127.0.0.1", silent.port()}};
    AsyncRedisStore store(o, ioc.get_executor());
    std::error_code error;
    const auto took = Timed([&] { error = Fetch(ioc, store, "k").error(); });
    CHECK(error == Errc::kStoreTimeout);
    CHECK(took >= milliseconds(190));
    JEFF_CHECK_WITHIN(took, milliseconds(400));
  }
  {
    FakeServer garbage("HTTP/1.1 400 Bad Request\r\n\r\n");
    o.redis.hosts = {{"127.0.0.1", garbage.port()}};
    AsyncRedisStore store(o, ioc.get_executor());
    CHECK(Fetch(ioc, store, "k").error() == Errc::kStoreProtocol);
  }
  {
    FakeServer wrong(":42\r\n");
    o.redis.hosts = {{"127.0.0.1", wrong.port()}};
    AsyncRedisStore store(o, ioc.get_executor());
    CHECK(Fetch(ioc, store, "k").error() == Errc::kStoreProtocol);
  }
  {
    FakeServer closing("", true);
    o.redis.hosts = {{"127.0.0.1", closing.port()}};
    AsyncRedisStore store(o, ioc.get_executor());
    CHECK(Fetch(ioc, store, "k").error() == Errc::kStoreUnavailable);
  }
}

TEST_CASE("AsyncRedisStore: destroyed with calls in flight, their handlers are never called") {
  auto server = StartRedis();
  asio::io_context ioc;
  int called = 0, called_at_destroy = -1;
  {
    AsyncRedisStore store(AsyncOptions(server->port()), ioc.get_executor());
    REQUIRE(Swap(ioc, store, UniqueKey("warm"), std::nullopt, "x").ok());  // connected
    server->Pause();  // the replies cannot come before the store is gone
    for (int i = 0; i < 100; ++i) {
      store.AsyncFetch(UniqueKey("in-flight"), [&](Result<std::optional<Versioned>>) { ++called; });
    }
    ioc.restart();
    ioc.run_for(milliseconds(50));  // the batch is written
    called_at_destroy = called;
  }
  server->Resume();
  ioc.restart();
  ioc.run_for(milliseconds(200));
  CHECK(called_at_destroy == 0);
  CHECK(called == 0);

  // Destroyed from inside one of its own handlers: the rest are dropped.
  auto store = std::make_unique<AsyncRedisStore>(AsyncOptions(server->port()), ioc.get_executor());
  called = 0;
  for (int i = 0; i < 10; ++i) {
    store->AsyncFetch(UniqueKey("self-destroy"), [&](Result<std::optional<Versioned>>) {
      ++called;
      store.reset();
    });
  }
  ioc.restart();
  ioc.run_for(milliseconds(500));
  CHECK(called == 1);
  CHECK(store == nullptr);
}

TEST_CASE("AsyncRedisStore over TLS: the certificate is checked, and values interoperate") {
  const TestPki pki;
  auto server = StartRedisTls(pki, {"--requirepass", "s3cret"});
  asio::io_context ioc;
  AsyncRedisStoreOptions o;
  o.redis = LocalTlsOptions(pki, server->port());
  o.redis.password = "s3cret";
  AsyncRedisStore store(o, ioc.get_executor());
  RedisStore sync(o.redis);
  const std::string key = UniqueKey("async-tls");
  REQUIRE(Swap(ioc, store, key, std::nullopt, "over-tls").value());
  auto seen = sync.Fetch(key).value();
  REQUIRE(seen.has_value());
  CHECK(seen->value == "over-tls");
  CHECK(sync.CompareAndSwap(key, seen->version, "sync-tls", kLongTtl).value());
  // Many calls in flight: TLS records carry pipelined batches too.
  int done = 0, wrong = 0;
  for (int i = 0; i < 200; ++i) {
    store.AsyncFetch(key, [&](Result<std::optional<Versioned>> r) {
      ++done;
      if (!r.ok() || !r->has_value() || (*r)->value != "sync-tls") ++wrong;
    });
  }
  RunUntil(ioc, [&] { return done == 200; });
  CHECK(wrong == 0);

  AsyncRedisStoreOptions untrusted = o;
  untrusted.redis.tls.ca_file = pki.other_ca();
  AsyncRedisStore refused(untrusted, ioc.get_executor());
  CHECK(Fetch(ioc, refused, key).error() == Errc::kStoreUnavailable);

  AsyncRedisStoreOptions wrong_name = o;
  wrong_name.redis.tls.server_name = "not-the-server.example";
  AsyncRedisStore misnamed(wrong_name, ioc.get_executor());
  CHECK(Fetch(ioc, misnamed, key).error() == Errc::kStoreUnavailable);

  auto by_url = MakeAsyncRedisStore(
      ParseStoreUrl("rediss://:s3cret@127.0.0.1:" + std::to_string(server->port()) +
                    "?ca_file=" + pki.ca())
          .value(),
      ioc.get_executor());
  CHECK(Fetch(ioc, *by_url, key).value()->value == "sync-tls");
}

TEST_CASE("AsyncRedisStore on a 3-node Redis Cluster: routed by slot, MOVED and ASK followed") {
  RedisCluster cluster;
  asio::io_context ioc;
  AsyncRedisStoreOptions o;
  o.redis = cluster.Options();
  AsyncRedisStore store(o, ioc.get_executor());
  RedisStore sync(cluster.Options());

  // Keys on every node, pipelined together; read back by the sync store.
  constexpr int kKeys = 300;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back(UniqueKey("cluster-" + std::to_string(i)));
  int written = 0, wrong = 0;
  for (int i = 0; i < kKeys; ++i) {
    store.AsyncCompareAndSwap(keys[i], std::nullopt, "v" + std::to_string(i), kLongTtl,
                              [&](Result<bool> r) {
                                ++written;
                                if (!r.ok() || !*r) ++wrong;
                              });
  }
  RunUntil(ioc, [&] { return written == kKeys; });
  CHECK(wrong == 0);
  std::vector<bool> on_node(3, false);
  for (int i = 0; i < kKeys; ++i) {
    CHECK(sync.Fetch(keys[i]).value()->value == "v" + std::to_string(i));
    on_node[cluster.OwnerOf(redis_detail::KeySlot(keys[i]))] = true;
  }
  CHECK(on_node == std::vector<bool>{true, true, true});

  // A slot that migrates from node 0 to node 1: ASK while it moves, MOVED after.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string candidate = UniqueKey("migrating-" + std::to_string(i));
    if (cluster.OwnerOf(redis_detail::KeySlot(candidate)) == 0) key = candidate;
  }
  const std::uint16_t slot = redis_detail::KeySlot(key);
  REQUIRE(Swap(ioc, store, key, std::nullopt, "before").value());
  cluster.BeginMigration(slot, 0, 1);
  const std::string asked = "{" + key + "}:asked";
  REQUIRE(redis_detail::KeySlot(asked) == slot);
  CHECK_FALSE(Fetch(ioc, store, asked).value().has_value());
  REQUIRE(Swap(ioc, store, asked, std::nullopt, "on the target").value());
  CHECK(Fetch(ioc, store, asked).value()->value == "on the target");
  RawRedis target(cluster.nodes()[1]->port());
  CHECK(target.Text({"ASKING"}) == "OK");
  CHECK(target.Int({"EXISTS", asked}) == 1);
  const Version v = Fetch(ioc, store, key).value()->version;
  REQUIRE(Swap(ioc, store, key, v, "during").value());

  cluster.MoveKeys(slot, 0, 1);
  cluster.FinishMigration(slot, 0, 1);
  auto got = Fetch(ioc, store, key).value();
  REQUIRE(got.has_value());
  CHECK(got->value == "during");
  REQUIRE(Swap(ioc, store, key, got->version, "after").value());  // the script, on the new owner
  CHECK(target.Text({"GET", key}).substr(8) == "after");
  CHECK(sync.Fetch(key).value()->value == "after");
  CHECK(Erase(ioc, store, key).ok());
  CHECK_FALSE(sync.Fetch(key).value().has_value());

  // No redirections allowed: a redirection is a store error.
  AsyncRedisStoreOptions strict = o;
  strict.redis.max_redirects = 0;
  AsyncRedisStore no_redirects(strict, ioc.get_executor());
  const std::string moved = keys.front();
  REQUIRE(Fetch(ioc, no_redirects, moved).ok());  // the map is loaded
  const std::uint16_t moved_slot = redis_detail::KeySlot(moved);
  const std::size_t owner = cluster.OwnerOf(moved_slot);
  cluster.MigrateSlot(moved_slot, owner, (owner + 1) % 3);
  CHECK(Fetch(ioc, no_redirects, moved).error() == Errc::kStoreUnavailable);
  CHECK(Fetch(ioc, store, moved).value()->value == "v0");  // followed
}

TEST_CASE(
    "AsyncRedisStore through Redis Sentinel: the master is found, and found again after a "
    "failover") {
  SentinelGroup group(1);
  asio::io_context ioc;
  auto store = MakeAsyncRedisStore(
      ParseStoreUrl(
          group.Url("timeout=500ms&connect_timeout=500ms&reconnect_min=20ms&reconnect_max=200ms"))
          .value(),
      ioc.get_executor());
  auto sync = MakeRedisStore(ParseStoreUrl(group.Url()).value());
  // Written with WAIT for the replica: it survives the failover.
  auto waiting = MakeAsyncRedisStore(
      ParseStoreUrl(group.Url("wait_replicas=1&wait_timeout=300ms")).value(), ioc.get_executor());
  const std::string key = UniqueKey("sentinel");
  REQUIRE(Swap(ioc, *waiting, key, std::nullopt, "on-the-master").value());
  CHECK(Fetch(ioc, *store, key).value()->value == "on-the-master");
  CHECK(sync->Fetch(key).value()->value == "on-the-master");
  RawRedis replica(group.nodes()[1]->port(), SentinelGroup::kDataPassword);
  CHECK(replica.Text({"GET", key}).substr(8) == "on-the-master");

  const std::uint16_t old_master = group.nodes()[0]->port();
  group.nodes()[0]->Kill();
  const auto kill_at = Clock::now();
  long errors = 0;
  std::optional<Versioned> after;
  for (;;) {
    auto got = Fetch(ioc, *store, key);
    if (got.ok()) {
      after = *got.value();
      break;
    }
    CHECK(IsStoreError(got.error()));  // never "missing"
    ++errors;
    REQUIRE(Clock::now() - kill_at < std::chrono::seconds(30));
    asio::steady_timer pause(ioc, milliseconds(20));
    bool waited = false;
    pause.async_wait([&](const boost::system::error_code&) { waited = true; });
    RunUntil(ioc, [&] { return waited; });
  }
  MESSAGE("async store OK again "
          << std::chrono::duration_cast<milliseconds>(Clock::now() - kill_at).count()
          << " ms after the master was killed (" << errors << " store errors before)");
  // Every sentinel agrees on the new master soon after (the store asked
  // the first that knew).
  for (int i = 0; group.MasterPort() == old_master; ++i) {
    REQUIRE(i < 500);
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE(after.has_value());
  CHECK(after->value == "on-the-master");
  CHECK(Swap(ioc, *store, key, after->version, "on-the-new-master").value());
}

TEST_CASE("AsyncRedisStore: bad options and URLs are refused at construction") {
  asio::io_context ioc;
  AsyncRedisStoreOptions o;
  o.connections = 0;
  CHECK_THROWS_AS(AsyncRedisStore(o, ioc.get_executor()), std::invalid_argument);
  o = {};
  o.redis.command_timeout = milliseconds(0);  // RedisStore's own checks apply
  CHECK_THROWS_AS(AsyncRedisStore(o, ioc.get_executor()), std::invalid_argument);

  for (const std::string url : {"redis://127.0.0.1:6379?no_such_option=1", "memcached://127.0.0.1",
                                "redis://127.0.0.1:6379/x", "redis+cluster://127.0.0.1:7000/1"}) {
    CAPTURE(url);
    auto parsed = ParseStoreUrl(url);
    REQUIRE(parsed.ok());
    CHECK_THROWS_AS((void)MakeAsyncRedisStore(*parsed, ioc.get_executor()), std::invalid_argument);
  }
  auto parsed = ParseStoreUrl("redis://127.0.0.1:6379/2?pool_size=3&timeout=250ms&prefix=app:");
  REQUIRE(parsed.ok());
  auto store = MakeAsyncRedisStore(*parsed, ioc.get_executor());
  const auto& opts = dynamic_cast<AsyncRedisStore&>(*store).options();
  CHECK(opts.connections == 3);
  CHECK(opts.redis.db == 2);
  CHECK(opts.redis.command_timeout == milliseconds(250));
  CHECK(opts.redis.key_prefix == "app:");
  auto one = MakeAsyncRedisStore(ParseStoreUrl("redis://127.0.0.1").value(), ioc.get_executor());
  CHECK(dynamic_cast<AsyncRedisStore&>(*one).options().connections == 1);
}

}  // namespace
}  // namespace jeff::test
