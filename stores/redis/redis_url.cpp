// MakeRedisStore: RedisStoreOptions from a redis://, redis+cluster:// URL
// (rediss:// and rediss+cluster:// with TLS).

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
  if (url.scheme == "redis" || url.scheme == "rediss") {
    o.cluster = false;
  } else if (url.scheme == "redis+cluster" || url.scheme == "rediss+cluster") {
    o.cluster = true;
  } else {
    throw std::invalid_argument("not a Redis URL scheme: '" + url.scheme + "'");
  }
  o.tls.enabled = url.scheme.starts_with("rediss");
  if (o.tls.enabled) {
    url.RequireKnownParams({"connect_timeout", "timeout", "pool_size", "pool_timeout", "keepalive",
                            "reconnect_min", "reconnect_max", "max_redirects", "max_value_bytes",
                            "prefix", "ca_file", "ca_dir", "cert_file", "key_file", "server_name",
                            "insecure_skip_verify"});
    o.tls.ca_file = TextParam(url, "ca_file");
    o.tls.ca_dir = TextParam(url, "ca_dir");
    o.tls.cert_file = TextParam(url, "cert_file");
    o.tls.key_file = TextParam(url, "key_file");
    o.tls.server_name = TextParam(url, "server_name");
    o.tls.insecure_skip_verify = BoolParam(url, "insecure_skip_verify");
  } else {
    url.RequireKnownParams({"connect_timeout", "timeout", "pool_size", "pool_timeout", "keepalive",
                            "reconnect_min", "reconnect_max", "max_redirects", "max_value_bytes",
                            "prefix"});
  }
  if (url.hosts.empty()) throw std::invalid_argument(url.scheme + ":// needs a host");
  if (!o.cluster && url.hosts.size() != 1) {
    throw std::invalid_argument("redis:// takes one host; use redis+cluster:// for several");
  }
  o.hosts.clear();
  for (const auto& h : url.hosts) o.hosts.push_back({h.host, h.port != 0 ? h.port : std::uint16_t{6379}});
  if (!url.path.empty()) {
    if (o.cluster) throw std::invalid_argument("redis+cluster:// takes no database path");
    o.db = ParseDb(url.path);
  }
  o.username = url.username;
  o.password = url.password.value_or("");
  if (!o.username.empty() && o.password.empty()) {
    throw std::invalid_argument(url.scheme + ":// user name without a password");
  }

  constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();
  o.connect_timeout = url.DurationParam("connect_timeout", o.connect_timeout);
  o.command_timeout = url.DurationParam("timeout", o.command_timeout);
  o.pool_timeout = url.DurationParam("pool_timeout", o.pool_timeout);
  o.reconnect_backoff_min = url.DurationParam("reconnect_min", o.reconnect_backoff_min);
  o.reconnect_backoff_max = url.DurationParam("reconnect_max", o.reconnect_backoff_max);
  o.keepalive = std::chrono::seconds(url.IntParam("keepalive", o.keepalive.count(), 0, kMaxInt));
  o.pool_size = static_cast<std::size_t>(url.IntParam("pool_size", 16, 0, 1 << 16));
  o.max_redirects = static_cast<int>(url.IntParam("max_redirects", o.max_redirects, 0, 1000));
  o.max_value_bytes = static_cast<std::size_t>(url.IntParam(
      "max_value_bytes", static_cast<std::int64_t>(o.max_value_bytes), 0, std::int64_t{1} << 32));
  if (auto prefix = url.Param("prefix")) o.key_prefix = std::string(*prefix);
  return std::make_shared<RedisStore>(std::move(o));  // validates the rest
}

}  // namespace jeff
