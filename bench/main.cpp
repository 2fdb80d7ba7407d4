// jeff-bench: Google Benchmark rows for the memory store, Redis, memcached
// and the JWE codec, with raw client loops as references (bench/run drives
// it). Besides the Google Benchmark flags:
//   --jeff_tokens  print the JWE tokens and claim set as JSON, and exit
//   --jeff_bytes   print the bytes stored per session as JSON, and exit
// Servers come from JEFF_BENCH_REDIS_PORT / JEFF_BENCH_MEMCACHED_PORT
// (rows of an unset one are not registered), the Auth.js token from the
// file named by JEFF_BENCH_AUTHJS_TOKEN.

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

int PrintTokens() {
  const jeff_bench::Tokens& t = jeff_bench::BenchTokens();
  nlohmann::json out = {
      {"cbc", t.cbc},
      {"gcm", t.gcm},
      {"claims", nlohmann::json::parse(jeff_bench::ClaimSet(/*stamped=*/false))},
      {"secret", jeff_bench::kJweSecret},
      {"salt", jeff_bench::kJweCookieName},
  };
  std::cout << out.dump() << "\n";
  return 0;
}

int PrintBytes() {
  nlohmann::json out = {{"redis", nullptr}, {"memcached", nullptr}};
#ifdef JEFF_BENCH_REDIS
  out["redis"] = jeff_bench::RedisBytes();
#endif
#ifdef JEFF_BENCH_MEMCACHED
  out["memcached"] = jeff_bench::MemcachedBytes();
#endif
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--jeff_tokens") == 0) return PrintTokens();
      if (std::strcmp(argv[i], "--jeff_bytes") == 0) return PrintBytes();
    }
    jeff_bench::RegisterSessionBenchmarks();
    jeff_bench::RegisterMemoryFloorBenchmark();
    jeff_bench::RegisterJweBenchmarks();
    jeff_bench::RegisterDbscBenchmarks();
#ifdef JEFF_BENCH_REDIS
    jeff_bench::RegisterRawRedisBenchmarks();
#endif
#ifdef JEFF_BENCH_MEMCACHED
    jeff_bench::RegisterRawMemcachedBenchmarks();
#endif
#ifdef JEFF_BENCH_POSTGRES
    jeff_bench::RegisterRawPostgresBenchmarks();
#endif
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench: " << e.what() << "\n";
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
