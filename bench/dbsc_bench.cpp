// Device-bound sessions (DBSC) on the memory store: the refresh endpoint
// (a challenge, then the signed proof verified against the bound key and a
// new bound cookie), and Check of a bound session (session cookie + bound
// cookie), beside MemoryCheck's plain Check.

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include "support/dbsc_test_key.hpp"

#include <benchmark/benchmark.h>
#include <jeff/sessions.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jeff_bench {
namespace {

// One session bound to an ES256 key (what Chromium uses), as a browser
// holds it after registration.
struct Bound {
  std::unique_ptr<jeff::Sessions> sessions;
  jeff::test::DbscTestKey key = jeff::test::DbscTestKey::Es256();
  std::string session_cookie;  // the long-lived cookie alone
  std::string both_cookies;    // with the bound cookie
  std::string id;              // Sec-Secure-Session-Id
};

// The quoted value after `name="` in `header`.
std::string Quoted(std::string_view header, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const auto at = header.find(key);
  if (at == std::string_view::npos) throw std::runtime_error("no " + key + " in " + std::string(header));
  const auto start = at + key.size();
  return std::string(header.substr(start, header.find('"', start) - start));
}

std::string HeaderOf(const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  throw std::runtime_error("no " + std::string(name) + " header");
}

// A bound session of its own for each row (`name`): refreshes replace the
// bound cookie, which would end another row's.
std::unique_ptr<Bound> NewBound(const std::string& name) {
  auto b = std::make_unique<Bound>();
  jeff::Options options = StatefulOptions("memory://", "benchdbsc" + name + ":");
  options.device_binding.enabled = true;
  b->sessions = std::make_unique<jeff::Sessions>(std::move(options));
  auto issued = b->sessions->Set("user@example.com");
  if (!issued) throw std::runtime_error("Set: " + issued.error().message());
  b->session_cookie = CookieHeaderFor(issued->set_cookie.front());
  const std::string challenge = Quoted(HeaderOf(issued->headers, "Secure-Session-Registration"), "challenge");
  auto registered = b->sessions->RegisterDevice(b->session_cookie, b->key.Registration(challenge));
  if (!registered || registered->status != 200 || registered->set_cookie.empty()) {
    throw std::runtime_error("RegisterDevice refused the proof");
  }
  b->id = nlohmann::json::parse(registered->body).at("session_identifier").get<std::string>();
  b->both_cookies = b->session_cookie + "; " + CookieHeaderFor(registered->set_cookie.front());
  return b;
}

// One refresh as Chromium makes it: the request without a proof (answered
// 403 with a challenge), then the one with the signed challenge (200, a
// new bound cookie). The browser's signing is not timed.
void Refresh(benchmark::State& state) {
  Guarded(state, [&] {
    static const std::unique_ptr<Bound> bound = NewBound("refresh");
    Bound& b = *bound;
    for (auto _ : state) {
      auto challenge = b.sessions->RefreshDevice(b.session_cookie, b.id, {});
      if (!challenge || challenge->status != 403) {
        state.SkipWithError("the refresh gave no challenge");
        break;
      }
      state.PauseTiming();
      const std::string header = HeaderOf(challenge->headers, "Secure-Session-Challenge");
      const std::string proof = b.key.Refresh(header.substr(1, header.find('"', 1) - 1));
      state.ResumeTiming();
      auto refreshed = b.sessions->RefreshDevice(b.session_cookie, b.id, proof);
      if (!refreshed || refreshed->status != 200) {
        state.SkipWithError("the refresh refused the proof");
        break;
      }
      benchmark::DoNotOptimize(refreshed);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

// Check of the bound session with its bound cookie (one session, one key).
void CheckBound(benchmark::State& state) {
  Guarded(state, [&] {
    static const std::unique_ptr<Bound> bound = NewBound("check");
    const Bound& b = *bound;
    for (auto _ : state) {
      jeff::CheckResult r = b.sessions->Check(b.both_cookies);
      if (!r.ok()) {
        state.SkipWithError("Check refused the bound session");
        break;
      }
      benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

}  // namespace

void RegisterDbscBenchmarks() {
  benchmark::RegisterBenchmark("MemoryDbscRefresh", Refresh)->Threads(1)->UseRealTime();
  benchmark::RegisterBenchmark("MemoryCheckBound", CheckBound)->Threads(1)->UseRealTime();
}

}  // namespace jeff_bench
