// Reference: a raw libmemcached get loop, one handle per thread, on values
// of the size of a one-session record. Also what records cost memcached
// (its `bytes` statistic before and after).

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <jeff/token.hpp>

#include <libmemcached/memcached.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace jeff_bench {
namespace {

struct HandleFree {
  void operator()(memcached_st* mc) const { memcached_free(mc); }
};
using Handle = std::unique_ptr<memcached_st, HandleFree>;

Handle Connect(int port) {
  Handle mc(memcached_create(nullptr));
  if (!mc || memcached_failed(memcached_server_add(mc.get(), "127.0.0.1", static_cast<in_port_t>(port))) ||
      memcached_failed(memcached_behavior_set(mc.get(), MEMCACHED_BEHAVIOR_TCP_NODELAY, 1))) {
    throw std::runtime_error("cannot configure libmemcached for port " + std::to_string(port));
  }
  return mc;
}

void PopulateOnce(int port, std::size_t value_bytes) {
  static std::once_flag once;
  std::call_once(once, [&] {
    Handle mc = Connect(port);
    const std::string value(value_bytes, 'v');
    for (const std::string& key : RawKeys()) {
      if (memcached_failed(memcached_set(mc.get(), key.data(), key.size(), value.data(), value.size(), 0, 0))) {
        throw std::runtime_error("memcached set failed");
      }
    }
  });
}

void RawGet(benchmark::State& state, int port, std::size_t value_bytes) {
  Guarded(state, [&] {
    PopulateOnce(port, value_bytes);
    Handle mc = Connect(port);
    const std::vector<std::string> keys = RawKeys();
    IndexWalk walk(kKeys, static_cast<std::size_t>(state.thread_index()) + 1);
    for (auto _ : state) {
      const std::string& key = keys[walk.Next()];
      std::size_t length = 0;
      std::uint32_t flags = 0;
      memcached_return_t rc{};
      char* value = memcached_get(mc.get(), key.data(), key.size(), &length, &flags, &rc);
      std::free(value);
      if (value == nullptr || length != value_bytes) {
        state.SkipWithError("raw get failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
  });
}

std::uint64_t StatBytes(memcached_st* mc) {
  memcached_return_t rc{};
  memcached_stat_st* stats = memcached_stat(mc, nullptr, &rc);
  if (stats == nullptr || memcached_failed(rc)) throw std::runtime_error("memcached stats failed");
  const std::uint64_t bytes = stats->bytes;
  memcached_stat_free(nullptr, stats);
  return bytes;
}

std::size_t ValueBytes(memcached_st* mc, const std::string& key) {
  std::size_t length = 0;
  std::uint32_t flags = 0;
  memcached_return_t rc{};
  char* value = memcached_get(mc, key.data(), key.size(), &length, &flags, &rc);
  std::free(value);
  if (value == nullptr) throw std::runtime_error("memcached get of a record failed");
  return length;
}

// Keys of the memcached rows: the server reports only its total item bytes,
// so the per-key figure is a mean over this many.
constexpr std::size_t kBytesKeys = 1000;

}  // namespace

nlohmann::json MemcachedBytes() {
  const auto url = MemcachedUrl();
  if (!url) return nullptr;
  Handle mc = Connect(PortFromEnv("JEFF_BENCH_MEMCACHED_PORT"));
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t meta : kBytesMetas) {
    const std::string prefix = "bytes" + std::to_string(meta) + ":";
    jeff::Sessions sessions(StatefulOptions(*url, prefix));
    const std::string m(meta, 'm');
    auto set_all = [&] {
      for (std::size_t i = 0; i < kBytesKeys; ++i) {
        const std::string key = i == 0 ? std::string(kBytesKey) : "user" + std::to_string(i) + "@example.com";
        if (!sessions.Set(key, m)) throw std::runtime_error("memcached Set failed");
      }
    };
    const std::uint64_t before = StatBytes(mc.get());
    nlohmann::json& row = out["meta" + std::to_string(meta)];
    for (int n = 1; n <= 10; ++n) {
      set_all();
      if (n == 1 || n == 10) {
        row["value_" + std::to_string(n)] = ValueBytes(mc.get(), prefix + jeff::KeyId(kBytesKey));
        row["item_bytes_" + std::to_string(n)] =
            static_cast<double>(StatBytes(mc.get()) - before) / kBytesKeys;
      }
    }
  }
  return out;
}

void RegisterRawMemcachedBenchmarks() {
  const int port = PortFromEnv("JEFF_BENCH_MEMCACHED_PORT");
  if (port == 0) return;
  const std::size_t value_bytes = SizeFromEnv("JEFF_BENCH_MEMCACHED_VALUE_BYTES", 108);
  benchmark::RegisterBenchmark("MemcachedRawGet", [=](benchmark::State& s) { RawGet(s, port, value_bytes); })
      ->Threads(1)->Threads(16)->UseRealTime();
}

}  // namespace jeff_bench
