// The floor of a memory-store Check (issue 28): what any stateful check of
// a jeff cookie must do, with the primitives jeff itself uses and nothing
// else. Find the cookie in the header, parse `<kid>.<token>`, SHA-256 the
// token, one hash-table lookup by kid, one constant-time compare of the
// stored token hash. No record, no session copied out, no expiry, no store
// key, no locks. report.py divides memory_check_ns by it
// (memory_check_vs_floor), a ratio that holds on any machine.

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <jeff/cookie.hpp>
#include <jeff/detail/session_cookie.hpp>
#include <jeff/token.hpp>

#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jeff_bench {
namespace {

void MemoryCheckFloor(benchmark::State& state) {
  Guarded(state, [&] {
    // The same cookies as MemoryCheck/sessions:1; the table maps each kid
    // to its token's hash, as the store's record holds it.
    Populated& p = PopulatedStore("memory://", 1);
    const std::string name = p.sessions->options().cookie.name;
    std::unordered_map<std::string_view, jeff::TokenHash> table;
    table.reserve(kKeys);
    for (std::size_t i = 0; i < kKeys; ++i) {
      auto value = jeff::FindCookie(p.Header(i), name);
      auto cookie = value ? jeff::detail::ParseSessionCookie(*value) : std::nullopt;
      if (!cookie) throw std::runtime_error("a bench cookie does not parse");
      table.emplace(cookie->kid, jeff::HashToken(cookie->token));
    }
    IndexWalk walk(kKeys, 1);
    std::size_t refused = 0;
    std::size_t next = walk.Next();
    for (auto _ : state) {
      const std::string_view header = p.Header(next);
      next = walk.Next();
      const char* ahead = p.Header(next).data();  // as MemoryCheck does
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + 64);
      bool ok = false;
      if (auto value = jeff::FindCookie(header, name)) {
        if (auto cookie = jeff::detail::ParseSessionCookie(*value)) {
          const jeff::TokenHash hash = jeff::HashToken(cookie->token);
          auto it = table.find(cookie->kid);
          ok = it != table.end() && jeff::ConstantTimeEqual(it->second, hash);
        }
      }
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
