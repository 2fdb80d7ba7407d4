#pragma once
// Registration of jeff-bench's benchmark families (one function per file),
// and the guard they share.

#include <benchmark/benchmark.h>
#include <nlohmann/json_fwd.hpp>

#include <exception>

namespace jeff_bench {

void RegisterSessionBenchmarks();
void RegisterJweBenchmarks();
void RegisterDbscBenchmarks();  // dbsc_bench.cpp
void RegisterMemoryFloorBenchmark();  // memory_floor_bench.cpp
void RegisterRawRedisBenchmarks();      // raw_redis_bench.cpp (built with hiredis)
void RegisterRawMemcachedBenchmarks();  // raw_memcached_bench.cpp (built with libmemcached)
void RegisterRawPostgresBenchmarks();   // raw_postgres_bench.cpp (built with libpq)

/// Bytes the stores hold for records with 1 and 10 sessions, per meta
/// size; null when the server is not configured.
nlohmann::json RedisBytes();
nlohmann::json MemcachedBytes();

/// Runs `body`; an exception (a failed set-up) skips the row with its
/// message, since Google Benchmark would otherwise end the whole run.
template <typename Body>
void Guarded(benchmark::State& state, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace jeff_bench
