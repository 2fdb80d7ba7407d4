// MakeRedisStore: RedisStoreOptions from a redis://, redis+cluster:// or
// redis-sentinel:// URL (rediss... with TLS).

#include <jeff/store_url.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>

namespace jeff {
namespace {

int ParseDb(std::string_view path) {
  int db = 0;
  const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
  if (path.empty() || ec != std::errc() || end != path.data() + path.size() || db < 0) {
    throw std::invalid_argument("redis:// database must be a number, got '" + std::string(path) + "'");
  }
  return db;
}

bool BoolParam(const StoreUrl& url, std::string_view name) {
  const auto value = url.Param(name);
  if (!value) return false;
  if (*value == "1" || *value == "true" || *value == "yes") return true;
  if (*value == "0" || *value == "false" || *value == "no") return false;
  throw std::invalid_argument("store URL option '" + std::string(name) + "' must be true or false");
}

std::string TextParam(const StoreUrl& url, std::string_view name) {
  return std::string(url.Param(name).value_or(""));
}

}  // namespace

std::shared_ptr<Store> MakeRedisStore(const StoreUrl& url) {
  RedisStoreOptions o;
  const bool tls = url.scheme.starts_with("rediss");
  const std::string_view kind = std::string_view(url.scheme).substr(tls ? 6 : 5);
  if (!url.scheme.starts_with("redis") || (kind != "" && kind != "+cluster" && kind != "-sentinel")) {
    throw std::invalid_argument("not a Redis URL scheme: '" + url.scheme + "'");
  }
  o.cluster = kind == "+cluster";
  const bool sentinel = kind == "-sentinel";
  o.tls.enabled = tls;
  if (tls) {
    url.RequireKnownParams({"connect_timeout", "timeout", "pool_size", "pool_timeout", "keepalive",
                            "reconnect_min", "reconnect_max", "max_redirects", "max_value_bytes",
                            "prefix", "wait_replicas", "wait_timeout", "sentinel_username",
                            "sentinel_password", "ca_file", "ca_dir", "cert_file", "key_file",
                            "server_name", "insecure_skip_verify"});
    o.tls.ca_file = TextParam(url, "ca_file");
    o.tls.ca_dir = TextParam(url, "ca_dir");
    o.tls.cert_file = TextParam(url, "cert_file");
    o.tls.key_file = TextParam(url, "key_file");
    o.tls.server_name = TextParam(url, "server_name");
    o.tls.insecure_skip_verify = BoolParam(url, "insecure_skip_verify");
  } else {
    url.RequireKnownParams({"connect_timeout", "timeout", "pool_size", "pool_timeout", "keepalive",
                            "reconnect_min", "reconnect_max", "max_redirects", "max_value_bytes",
                            "prefix", "wait_replicas", "wait_timeout", "sentinel_username",
                            "sentinel_password"});
  }
  if (!sentinel && (url.Param("sentinel_username") || url.Param("sentinel_password"))) {
    throw std::invalid_argument(url.scheme + ":// takes no sentinel credentials");
  }
  if (url.hosts.empty()) throw std::invalid_argument(url.scheme + ":// needs a host");
  if (!o.cluster && !sentinel && url.hosts.size() != 1) {
    throw std::invalid_argument("redis:// takes one host; use redis+cluster:// for several");
  }
  o.hosts.clear();
  for (const auto& h : url.hosts) o.hosts.push_back({h.host, h.port});  // 0: the default
  if (sentinel) {
    // <master name>[/<db>]
    const std::size_t slash = url.path.find('/');
    o.sentinel_master = url.path.substr(0, slash);
    if (o.sentinel_master.empty()) {
      throw std::invalid_argument(url.scheme + ":// needs the master name as its path");
    }
    if (slash != std::string::npos) o.db = ParseDb(url.path.substr(slash + 1));
    o.sentinel_username = TextParam(url, "sentinel_username");
    o.sentinel_password = TextParam(url, "sentinel_password");
  } else if (!url.path.empty()) {
    if (o.cluster) throw std::invalid_argument("redis+cluster:// takes no database path");
    o.db = ParseDb(url.path);
  }
  o.username = url.username;
  o.password = url.password.value_or("");
  if (!o.username.empty() && o.password.empty()) {
    throw std::invalid_argument(url.scheme + ":// user name without a password");
  }

  constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();
  // Checked here too, so that a message names the URL's option, not the field.
  constexpr std::chrono::milliseconds kPositive{1};
  o.connect_timeout = url.DurationParam("connect_timeout", o.connect_timeout, kPositive);
  o.command_timeout = url.DurationParam("timeout", o.command_timeout, kPositive);
  o.pool_timeout = url.DurationParam("pool_timeout", o.pool_timeout);
  o.reconnect_backoff_min = url.DurationParam("reconnect_min", o.reconnect_backoff_min);
  o.reconnect_backoff_max = url.DurationParam("reconnect_max", o.reconnect_backoff_max);
  o.keepalive = std::chrono::seconds(url.IntParam("keepalive", o.keepalive.count(), 0, kMaxInt));
  o.pool_size = static_cast<std::size_t>(url.IntParam("pool_size", 16, 0, 1 << 16));
  o.max_redirects = static_cast<int>(url.IntParam("max_redirects", o.max_redirects, 0, 1000));
  o.max_value_bytes = static_cast<std::size_t>(url.IntParam(
      "max_value_bytes", static_cast<std::int64_t>(o.max_value_bytes), 0, std::int64_t{1} << 32));
  o.wait_replicas = static_cast<int>(url.IntParam("wait_replicas", 0, 0, 1000));
  o.wait_timeout = url.DurationParam("wait_timeout", o.wait_timeout);
  if (o.reconnect_backoff_max < o.reconnect_backoff_min) {
    throw std::invalid_argument("store URL option ?reconnect_max must be >= ?reconnect_min");
  }
  if (o.wait_replicas > 0 && (o.wait_timeout.count() <= 0 || o.wait_timeout >= o.command_timeout)) {
    throw std::invalid_argument("store URL option ?wait_timeout must be > 0 and below ?timeout");
  }
  if (auto prefix = url.Param("prefix")) o.key_prefix = std::string(*prefix);
  return std::make_shared<RedisStore>(std::move(o));  // validates the rest
}

}  // namespace jeff
