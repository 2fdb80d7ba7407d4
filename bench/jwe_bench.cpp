// Stateless strategy: the JWE codec alone (what jose's compactDecrypt does)
// and the whole stateless Check (what @auth/core's decode does: decrypt,
// parse the claims, check exp), on jeff's tokens and on an Auth.js token.

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <jeff/jwe.hpp>

#include <string>

namespace jeff_bench {
namespace {

jeff::JweCodec MakeCodec(jeff::JweEnc enc) {
  jeff::JweOptions options;
  options.secrets = {std::string(kJweSecret)};
  options.salt = std::string(kJweCookieName);
  options.enc = enc;
  return jeff::JweCodec(std::move(options));
}

const std::string& TokenFor(const std::string& which) {
  const Tokens& t = BenchTokens();
  if (which == "authjs") {
    if (t.authjs.empty()) throw std::runtime_error("no Auth.js token (JEFF_BENCH_AUTHJS_TOKEN unset)");
    return t.authjs;
  }
  return which == "gcm" ? t.gcm : t.cbc;
}

void Decrypt(benchmark::State& state, const std::string& which) {
  Guarded(state, [&] {
    const std::string& token = TokenFor(which);
    const jeff::JweCodec codec = MakeCodec(which == "gcm" ? jeff::JweEnc::kA256Gcm : jeff::JweEnc::kA256CbcHs512);
    std::string plaintext;
    for (auto _ : state) {
      if (!codec.Decrypt(token, plaintext)) {
        state.SkipWithError("Decrypt refused the token");
        break;
      }
      benchmark::DoNotOptimize(plaintext);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

void Encrypt(benchmark::State& state, jeff::JweEnc enc) {
  Guarded(state, [&] {
    const jeff::JweCodec codec = MakeCodec(enc);
    const std::string claims = ClaimSet(/*stamped=*/true);
    for (auto _ : state) {
      auto token = codec.Encrypt(claims);
      if (!token) {
        state.SkipWithError("Encrypt failed");
        break;
      }
      benchmark::DoNotOptimize(token);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

void StatelessCheck(benchmark::State& state, const std::string& which) {
  Guarded(state, [&] {
    const std::string header = std::string(kJweCookieName) + "=" + TokenFor(which);
    jeff::Options options;
    options.strategy = jeff::SessionStrategy::kStateless;
    options.cookie.name = std::string(kJweCookieName);
    options.stateless.secrets = {std::string(kJweSecret)};
    // A refresh re-encrypts the token: a write, which @auth/core's decode
    // never does. Only decoding is compared here.
    options.touch_interval = std::chrono::seconds(0);
    jeff::Sessions sessions(std::move(options));
    for (auto _ : state) {
      jeff::CheckResult r = sessions.Check(header);
      if (!r.ok()) {
        state.SkipWithError(("stateless Check: " + std::string(jeff::ToString(r.status))).c_str());
        break;
      }
      benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
  });
}

}  // namespace

void RegisterJweBenchmarks() {
  for (const std::string which : {"cbc", "gcm", "authjs"}) {
    benchmark::RegisterBenchmark(("JweDecrypt/" + which).c_str(),
                                 [which](benchmark::State& s) { Decrypt(s, which); });
    benchmark::RegisterBenchmark(("StatelessCheck/" + which).c_str(),
                                 [which](benchmark::State& s) { StatelessCheck(s, which); });
  }
  benchmark::RegisterBenchmark("JweEncrypt/cbc",
                               [](benchmark::State& s) { Encrypt(s, jeff::JweEnc::kA256CbcHs512); });
  benchmark::RegisterBenchmark("JweEncrypt/gcm",
                               [](benchmark::State& s) { Encrypt(s, jeff::JweEnc::kA256Gcm); });
}

}  // namespace jeff_bench
