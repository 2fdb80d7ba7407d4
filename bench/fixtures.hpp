#pragma once
// Shared set-up of jeff-bench: where the servers are (environment, set by
// bench/run), populated Sessions objects, and the JWE tokens and keys.

#include <jeff/sessions.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jeff_bench {

/// Keys populated for the Check benchmarks.
inline constexpr std::size_t kKeys = 10000;

/// Secret and cookie name (the HKDF salt) shared with bench/jwe_peers.mjs.
inline constexpr std::string_view kJweSecret = "jeff-bench-secret-0123456789abcdef0123456789";
inline constexpr std::string_view kJweCookieName = "authjs.session-token";

/// "redis://127.0.0.1:<JEFF_BENCH_REDIS_PORT>", or std::nullopt when unset.
std::optional<std::string> RedisUrl();
/// "rediss://127.0.0.1:<JEFF_BENCH_REDIS_TLS_PORT>?ca_file=<JEFF_BENCH_REDIS_TLS_CA>"
/// (the same redis-server as RedisUrl, its TLS port), or std::nullopt when unset.
std::optional<std::string> RedisTlsUrl();
/// "memcached://127.0.0.1:<JEFF_BENCH_MEMCACHED_PORT>", or std::nullopt.
std::optional<std::string> MemcachedUrl();
/// $JEFF_BENCH_POSTGRES_URL (a libpq URI, set by bench/run), or std::nullopt.
std::optional<std::string> PostgresUrl();
/// The port in environment variable `name`; 0 when unset or invalid.
int PortFromEnv(const char* name);
/// The positive number in environment variable `name`, else `fallback`.
std::size_t SizeFromEnv(const char* name, std::size_t fallback);

/// Calls body(i) for every i in [0, n) from `threads` threads (each takes
/// the next i); rethrows the first exception a call threw, after which no
/// new call starts.
void ParallelFor(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& body);

/// This process's resident set size in bytes (/proc/self/statm).
/// Throws std::runtime_error when it cannot be read.
std::int64_t ResidentBytes();

/// Keys `rawget:0` ... of the raw client loops (the references).
std::vector<std::string> RawKeys();

/// The application key and metas of the bytes-per-session rows.
inline constexpr std::string_view kBytesKey = "alice.smith@example.com";
inline constexpr std::size_t kBytesMetas[] = {0, 100};

/// A Sessions object over a store with kKeys keys of `sessions_per_key`
/// sessions each, and one Cookie header per key (the newest session).
struct Populated {
  std::unique_ptr<jeff::Sessions> sessions;
  /// The Cookie header of key `i`. All have the same length, so they are
  /// kept side by side and a loop can prefetch the next one.
  std::string_view Header(std::size_t i) const {
    return std::string_view(headers).substr(i * header_chars, header_chars);
  }
  std::string headers;
  std::size_t header_chars = 0;
};

/// Built once per (url, sessions_per_key, sealed), under a key prefix of its
/// own (so every key holds exactly `sessions_per_key` sessions, also when two
/// urls reach one server), and then shared; thread-safe. `sealed`: records
/// encrypted at rest (Options::at_rest with one benchmark key).
/// Throws std::runtime_error when the store refuses a Set.
Populated& PopulatedStore(const std::string& url, std::size_t sessions_per_key, bool sealed = false);

/// Stateful options over `url` as a benchmark uses them: defaults, except
/// the key prefix (keeps rows apart on one server) and a touch interval
/// longer than a run.
jeff::Options StatefulOptions(const std::string& url, std::string_view key_prefix);

/// The `Cookie:` request header that answers a Set-Cookie value.
std::string CookieHeaderFor(std::string_view set_cookie);

/// A realistic claim set: about 200 bytes of JSON once stamped (the claims
/// Auth.js writes for a sign-in, plus jeff's `sid`); without iat/exp/jti
/// when `stamped` is false (Auth.js adds those itself).
std::string ClaimSet(bool stamped);

/// The tokens the JWE rows decode: made by jeff (both encs) and, when
/// JEFF_BENCH_AUTHJS_TOKEN names a file, the one @auth/core made.
struct Tokens {
  std::string cbc;     ///< jeff, A256CBC-HS512
  std::string gcm;     ///< jeff, A256GCM
  std::string authjs;  ///< @auth/core encode (A256CBC-HS512); empty when not given
};
const Tokens& BenchTokens();

/// Per-thread pseudo-random walk over [0, n): successive calls give
/// indexes spread over the whole range, so that caches see many keys.
class IndexWalk {
 public:
  IndexWalk(std::size_t n, std::size_t seed) : n_(n), i_(seed * 7919 % n) {}
  std::size_t Next() {
    i_ = (i_ + kStride) % n_;
    return i_;
  }

 private:
  // Prime, coprime with every population size used here.
  static constexpr std::size_t kStride = 7727;
  std::size_t n_;
  std::size_t i_;
};

}  // namespace jeff_bench
