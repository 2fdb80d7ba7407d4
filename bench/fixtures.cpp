#include "fixtures.hpp"

#include <jeff/jwe.hpp>
#include <jeff/stores/open_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include <unistd.h>

namespace jeff_bench {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  return Trimmed(std::string(std::istreambuf_iterator<char>(in), {}));
}

std::string EncryptOrThrow(jeff::JweEnc enc, std::string_view plaintext) {
  jeff::JweOptions options;
  options.secrets = {std::string(kJweSecret)};
  options.salt = std::string(kJweCookieName);
  options.enc = enc;
  auto token = jeff::JweCodec(std::move(options)).Encrypt(plaintext);
  if (!token) throw std::runtime_error("JWE encrypt failed: " + token.error().message());
  return *token;
}

}  // namespace

void ParallelFor(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& body) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  std::exception_ptr failure;
  std::mutex failure_mu;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      try {
        for (std::size_t i; (i = next.fetch_add(1)) < n;) body(i);
      } catch (...) {
        std::lock_guard lock(failure_mu);
        failure = std::current_exception();
        next = n;
      }
    });
  }
  for (auto& w : workers) w.join();
  if (failure) std::rethrow_exception(failure);
}

std::int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) throw std::runtime_error("cannot read /proc/self/statm");
  return resident * sysconf(_SC_PAGESIZE);
}

int PortFromEnv(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return 0;
  const int port = std::atoi(text);
  return port > 0 && port < 65536 ? port : 0;
}

std::size_t SizeFromEnv(const char* name, std::size_t fallback) {
  const char* text = std::getenv(name);
  const long long n = text == nullptr ? 0 : std::atoll(text);
  return n > 0 ? static_cast<std::size_t>(n) : fallback;
}

std::vector<std::string> RawKeys() {
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  for (std::size_t i = 0; i < kKeys; ++i) keys.push_back("rawget:" + std::to_string(i));
  return keys;
}

std::optional<std::string> RedisUrl() {
  const int port = PortFromEnv("JEFF_BENCH_REDIS_PORT");
  if (port == 0) return std::nullopt;
  return "redis://127.0.0.1:" + std::to_string(port);
}

std::optional<std::string> RedisTlsUrl() {
  const int port = PortFromEnv("JEFF_BENCH_REDIS_TLS_PORT");
  const char* ca = std::getenv("JEFF_BENCH_REDIS_TLS_CA");
  if (port == 0 || ca == nullptr || *ca == '\0') return std::nullopt;
  return "rediss://127.0.0.1:" + std::to_string(port) + "?ca_file=" + ca;
}

std::optional<std::string> MemcachedUrl() {
  const int port = PortFromEnv("JEFF_BENCH_MEMCACHED_PORT");
  if (port == 0) return std::nullopt;
  return "memcached://127.0.0.1:" + std::to_string(port);
}

std::optional<std::string> PostgresUrl() {
  const char* url = std::getenv("JEFF_BENCH_POSTGRES_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

jeff::Options StatefulOptions(const std::string& url, std::string_view key_prefix) {
  jeff::Options options;
  options.store = jeff::OpenStore(url);
  options.key_prefix = std::string(key_prefix);
  // All sessions are created within seconds of each other, so their touches
  // (one compare-and-swap per session per interval) would fall due together
  // and land as a burst of writes in whichever row runs then. Real traffic
  // spreads them; the rows measure the read path.
  options.touch_interval = std::chrono::hours(1);
  return options;
}

std::string CookieHeaderFor(std::string_view set_cookie) {
  return std::string(set_cookie.substr(0, set_cookie.find(';')));
}

Populated& PopulatedStore(const std::string& url, std::size_t sessions_per_key, bool sealed) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, std::size_t, bool>, Populated> built;
  std::lock_guard lock(mu);
  auto [it, fresh] = built.try_emplace({url, sessions_per_key, sealed});
  Populated& p = it->second;
  if (!fresh) return p;
  try {
    // Each (url, sessions_per_key) gets keys of its own: RedisCheck and
    // RedisTlsCheck reach the same server, and with one prefix the second row
    // populated would add its sessions to the first one's keys (two sessions
    // per key, bigger records, read by whichever row runs after it).
    const bool tls = url.rfind("rediss:", 0) == 0;
    jeff::Options options = StatefulOptions(
        url, std::string(tls ? "benchtls" : sealed ? "benchsealed" : "bench") + std::to_string(sessions_per_key) + ":");
    if (sealed) options.at_rest.keys = {jeff::AtRestKey{1, std::string(jeff::kAtRestKeyBytes, 'k')}};
    p.sessions = std::make_unique<jeff::Sessions>(std::move(options));
    std::vector<std::string> headers(kKeys);
    const bool remote = url.rfind("memory:", 0) != 0;
    // Populating a remote store one Set at a time would take most of a
    // quick run; the store is thread-safe, so a few threads share the keys.
    ParallelFor(kKeys, remote ? 8 : 1, [&](std::size_t i) {
      const std::string key = "user" + std::to_string(i) + "@example.com";
      for (std::size_t s = 0; s < sessions_per_key; ++s) {
        auto issued = p.sessions->Set(key);
        if (!issued) throw std::runtime_error("Set on " + url + ": " + issued.error().message());
        headers[i] = CookieHeaderFor(issued->set_cookie.front());
      }
    });
    p.header_chars = headers.front().size();
    for (const std::string& h : headers) {
      if (h.size() != p.header_chars) throw std::runtime_error("cookie headers differ in length");
      p.headers += h;
    }
  } catch (...) {
    built.erase(it);
    throw;
  }
  return p;
}

std::string ClaimSet(bool stamped) {
  std::string json =
      R"({"name":"Alice Example","email":"alice@example.com",)"
      R"("sub":"alice@example.com","sid":"1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b")";
  if (stamped) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    json += R"(,"iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(now + 30 * 86400) +
            R"(,"jti":"9f0c2a5e-8d1b-4c7e-b6a3-2e5d4f1a0b9c")";
  }
  return json + "}";
}

const Tokens& BenchTokens() {
  static const Tokens tokens = [] {
    Tokens t;
    const std::string claims = ClaimSet(/*stamped=*/true);
    t.cbc = EncryptOrThrow(jeff::JweEnc::kA256CbcHs512, claims);
    t.gcm = EncryptOrThrow(jeff::JweEnc::kA256Gcm, claims);
    if (const char* path = std::getenv("JEFF_BENCH_AUTHJS_TOKEN")) t.authjs = ReadFile(path);
    return t;
  }();
  return tokens;
}

}  // namespace jeff_bench
