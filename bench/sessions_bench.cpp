// Stateful Sessions on the memory store and on real Redis and memcached:
// Check, Set, SessionsForKey.

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

namespace jeff_bench {
namespace {

// A second manager over `p`'s store and options, with Options::metrics on
// (the same sessions, cookies and pepper), built once per Populated.
jeff::Sessions& WithMetrics(Populated& p) {
  static std::mutex mu;
  static std::map<const Populated*, std::unique_ptr<jeff::Sessions>> twins;
  std::lock_guard lock(mu);
  auto& twin = twins[&p];
  if (!twin) {
    jeff::Options o = p.sessions->options();
    o.metrics = true;
    twin = std::make_unique<jeff::Sessions>(std::move(o));
  }
  return *twin;
}

// `metrics`: Check through a manager with Options::metrics on (counters
// and timed store calls), else the default (off). `sealed`: records
// encrypted at rest (Options::at_rest).
void Check(benchmark::State& state, const std::string& url, std::size_t sessions_per_key,
           bool metrics = false, bool sealed = false) {
  Guarded(state, [&] {
    Populated& p = PopulatedStore(url, sessions_per_key, sealed);
    jeff::Sessions& sessions = metrics ? WithMetrics(p) : *p.sessions;
    IndexWalk walk(kKeys, static_cast<std::size_t>(state.thread_index()) + 1);
    std::size_t refused = 0;
    std::size_t next = walk.Next();
    for (auto _ : state) {
      const std::string_view header = p.Header(next);
      next = walk.Next();
      // A request's Cookie header is in cache (just read from its socket);
      // without this, each Check would also pay a miss on the benchmark's input.
      const char* ahead = p.Header(next).data();
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + 64);
      jeff::CheckResult r = sessions.Check(header);
      refused += r.ok() ? 0 : 1;
      benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
    if (refused != 0) state.SkipWithError("Check refused a live session");
  });
}

// A login of a key without live sessions: one read (miss) and one add.
// Every iteration uses a key never used before.
void Set(benchmark::State& state, const std::string& url) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<jeff::Sessions>> by_url;
  static std::atomic<std::uint64_t> next_key{0};
  Guarded(state, [&] {
    jeff::Sessions* sessions = nullptr;
    {
      std::lock_guard lock(mu);
      auto& s = by_url[url];
      if (!s) s = std::make_unique<jeff::Sessions>(StatefulOptions(url, "benchset:"));
      sessions = s.get();
    }
    std::string key;
    for (auto _ : state) {
      key.assign("login").append(std::to_string(next_key.fetch_add(1))).append("@example.com");
      auto issued = sessions->Set(key);
      if (!issued) {
        state.SkipWithError(("Set failed: " + issued.error().message()).c_str());
        break;
      }
      benchmark::DoNotOptimize(issued);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

void SessionsForKey(benchmark::State& state, const std::string& url, std::size_t sessions_per_key) {
  Guarded(state, [&] {
    Populated& p = PopulatedStore(url, sessions_per_key);
    std::vector<std::string> keys;
    keys.reserve(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) keys.push_back("user" + std::to_string(i) + "@example.com");
    IndexWalk walk(kKeys, static_cast<std::size_t>(state.thread_index()) + 1);
    for (auto _ : state) {
      auto listed = p.sessions->SessionsForKey(keys[walk.Next()]);
      if (!listed || listed->size() != sessions_per_key) {
        state.SkipWithError("SessionsForKey did not list the key's sessions");
        break;
      }
      benchmark::DoNotOptimize(listed);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

// Rows for a store reached over the network: 1 and 16 client threads.
void RegisterRemote(const std::string& name, const std::string& url) {
  benchmark::RegisterBenchmark((name + "Check/sessions:1").c_str(),
                               [url](benchmark::State& s) { Check(s, url, 1); })
      ->Threads(1)->Threads(16)->UseRealTime();
  benchmark::RegisterBenchmark((name + "Set").c_str(), [url](benchmark::State& s) { Set(s, url); })
      ->Threads(1)->Threads(16)->UseRealTime();
}

}  // namespace

void RegisterSessionBenchmarks() {
  const std::string memory = "memory://";
  for (std::size_t n : {1, 10}) {
    benchmark::RegisterBenchmark(("MemoryCheck/sessions:" + std::to_string(n)).c_str(),
                                 [memory, n](benchmark::State& s) { Check(s, memory, n); })
        ->Threads(1)->Threads(2)->UseRealTime();
  }
  // Same run, adjacent rows: Check with the counters on vs the row above
  // (off); report.py's memory_check_metrics_vs_off.
  benchmark::RegisterBenchmark("MemoryCheckMetrics/sessions:1",
                               [memory](benchmark::State& s) { Check(s, memory, 1, /*metrics=*/true); })
      ->Threads(1)->UseRealTime();
  // Same again with records encrypted at rest: report.py's
  // memory_check_encrypted_vs_plain.
  benchmark::RegisterBenchmark("MemoryCheckEncrypted/sessions:1", [memory](benchmark::State& s) {
    Check(s, memory, 1, /*metrics=*/false, /*sealed=*/true);
  })->Threads(1)->UseRealTime();
  benchmark::RegisterBenchmark("MemorySet", [memory](benchmark::State& s) { Set(s, memory); })
      ->Threads(1)->UseRealTime();
  for (std::size_t n : {1, 10}) {
    benchmark::RegisterBenchmark(("MemorySessionsForKey/sessions:" + std::to_string(n)).c_str(),
                                 [memory, n](benchmark::State& s) { SessionsForKey(s, memory, n); })
        ->Threads(1)->UseRealTime();
  }
  if (auto url = RedisUrl()) RegisterRemote("Redis", *url);
  // Check over TLS, against the same server's TLS port (compared with RedisCheck).
  if (auto url = RedisTlsUrl()) {
    benchmark::RegisterBenchmark("RedisTlsCheck/sessions:1",
                                 [url = *url](benchmark::State& s) { Check(s, url, 1); })
        ->Threads(1)->Threads(16)->UseRealTime();
  }
  if (auto url = MemcachedUrl()) RegisterRemote("Memcached", *url);
  if (auto url = PostgresUrl()) RegisterRemote("Postgres", *url + "?create_table=1");
}

}  // namespace jeff_bench
