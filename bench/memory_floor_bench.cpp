// MemoryCheckFloor: the floor of a memory-store Check (check_floor.hpp) over
// the same cookies as MemoryCheck/sessions:1. report.py divides
// memory_check_ns by it (memory_check_vs_floor), a ratio that holds on any
// machine.

#include "benchmarks.hpp"
#include "check_floor.hpp"
#include "fixtures.hpp"

#include <benchmark/benchmark.h>

#include <string_view>

namespace jeff_bench {
namespace {

void MemoryCheckFloor(benchmark::State& state) {
  Guarded(state, [&] {
    Populated& p = PopulatedStore("memory://", 1);
    CheckFloor floor(p.sessions->options().cookie.name, kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) floor.Add(p.Header(i));
    IndexWalk walk(kKeys, 1);
    std::size_t refused = 0;
    std::size_t next = walk.Next();
    for (auto _ : state) {
      const std::string_view header = p.Header(next);
      next = walk.Next();
      const char* ahead = p.Header(next).data();  // as MemoryCheck does
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + 64);
      const bool ok = floor.Check(header);
      refused += ok ? 0 : 1;
      benchmark::DoNotOptimize(ok);
    }
    state.SetItemsProcessed(state.iterations());
    if (refused != 0) state.SkipWithError("the floor refused a live session");
  });
}

}  // namespace

void RegisterMemoryFloorBenchmark() {
  benchmark::RegisterBenchmark("MemoryCheckFloor", MemoryCheckFloor)->Threads(1)->UseRealTime();
}

}  // namespace jeff_bench
