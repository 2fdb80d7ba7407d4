// Reference: a raw hiredis GET loop, one connection per thread, on values of
// the size of a one-session record: the physical limit of a Check that is
// one round trip. Also what a record costs Redis (STRLEN, MEMORY USAGE).

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <jeff/token.hpp>

#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace jeff_bench {
namespace {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

Context Connect(int port) {
  Context c(redisConnect("127.0.0.1", port));
  if (!c || c->err) throw std::runtime_error("cannot connect to Redis on port " + std::to_string(port));
  return c;
}

void PopulateOnce(int port, std::size_t value_bytes) {
  static std::once_flag once;
  std::call_once(once, [&] {
    Context c = Connect(port);
    const std::string value(value_bytes, 'v');
    for (const std::string& key : RawKeys()) {
      redisAppendCommand(c.get(), "SET %b %b", key.data(), key.size(), value.data(), value.size());
    }
    for (std::size_t i = 0; i < kKeys; ++i) {
      void* reply = nullptr;
      if (redisGetReply(c.get(), &reply) != REDIS_OK) throw std::runtime_error("Redis SET failed");
      freeReplyObject(reply);
    }
  });
}

void RawGet(benchmark::State& state, int port, std::size_t value_bytes) {
  Guarded(state, [&] {
    PopulateOnce(port, value_bytes);
    Context c = Connect(port);
    const std::vector<std::string> keys = RawKeys();
    IndexWalk walk(kKeys, static_cast<std::size_t>(state.thread_index()) + 1);
    for (auto _ : state) {
      const std::string& key = keys[walk.Next()];
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "GET %b", key.data(), key.size())));
      if (!r || r->type != REDIS_REPLY_STRING || r->len != static_cast<decltype(r->len)>(value_bytes)) {
        state.SkipWithError("raw GET failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
  });
}

long long Integer(redisContext* c, const char* command, const std::string& key) {
  Reply r(static_cast<redisReply*>(redisCommand(c, command, key.data(), key.size())));
  if (!r || r->type != REDIS_REPLY_INTEGER) throw std::runtime_error(std::string(command) + " failed");
  return r->integer;
}

}  // namespace

nlohmann::json RedisBytes() {
  const auto url = RedisUrl();
  if (!url) return nullptr;
  Context c = Connect(PortFromEnv("JEFF_BENCH_REDIS_PORT"));
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t meta : kBytesMetas) {
    const std::string prefix = "bytes" + std::to_string(meta) + ":";
    jeff::Sessions sessions(StatefulOptions(*url, prefix));
    const std::string store_key = prefix + jeff::KeyId(kBytesKey);
    nlohmann::json& row = out["meta" + std::to_string(meta)];
    for (int n = 1; n <= 10; ++n) {
      if (!sessions.Set(kBytesKey, std::string(meta, 'm'))) throw std::runtime_error("Redis Set failed");
      if (n == 1 || n == 10) {
        row["value_" + std::to_string(n)] = Integer(c.get(), "STRLEN %b", store_key);
        row["memory_usage_" + std::to_string(n)] = Integer(c.get(), "MEMORY USAGE %b", store_key);
      }
    }
  }
  return out;
}

void RegisterRawRedisBenchmarks() {
  const int port = PortFromEnv("JEFF_BENCH_REDIS_PORT");
  if (port == 0) return;
  const std::size_t value_bytes = SizeFromEnv("JEFF_BENCH_REDIS_VALUE_BYTES", 116);
  benchmark::RegisterBenchmark("RedisRawGet", [=](benchmark::State& s) { RawGet(s, port, value_bytes); })
      ->Threads(1)->Threads(16)->UseRealTime();
}

}  // namespace jeff_bench
