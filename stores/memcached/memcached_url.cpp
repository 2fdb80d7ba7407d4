// MakeMemcachedStore: memcached:// URLs to MemcachedStoreOptions.
#include <jeff/stores/memcached/memcached_store.hpp>

#include <chrono>
#include <stdexcept>

namespace jeff {

std::shared_ptr<Store> MakeMemcachedStore(const StoreUrl& url, Clock clock) {
  if (url.scheme != "memcached") {
    throw std::invalid_argument("not a memcached:// URL (scheme '" + url.scheme + "')");
  }
  if (url.hosts.empty()) throw std::invalid_argument("memcached:// needs at least one host");
  if (!url.username.empty() || url.password) {
    throw std::invalid_argument("memcached:// takes no user or password (SASL is not supported)");
  }
  if (!url.path.empty()) throw std::invalid_argument("memcached:// takes no path");
  url.RequireKnownParams({"connect_timeout", "io_timeout", "retry_timeout", "pool_size",
                          "pool_wait_timeout", "prefix", "max_value_bytes"});

  MemcachedStoreOptions o;
  for (const StoreUrl::Host& h : url.hosts) o.servers.push_back({h.host, h.port});
  o.connect_timeout = url.DurationParam("connect_timeout", o.connect_timeout, std::chrono::milliseconds(1));
  o.io_timeout = url.DurationParam("io_timeout", o.io_timeout, std::chrono::milliseconds(1));
  // libmemcached counts this in whole seconds: round up, so 500ms still waits.
  const auto retry = url.DurationParam("retry_timeout", o.retry_timeout);
  o.retry_timeout = std::chrono::ceil<std::chrono::seconds>(retry);
  o.pool_size = static_cast<std::size_t>(
      url.IntParam("pool_size", static_cast<std::int64_t>(o.pool_size), 1, 4096));
  o.pool_wait_timeout = url.DurationParam("pool_wait_timeout", o.pool_wait_timeout);
  o.key_prefix = std::string(url.Param("prefix").value_or(""));
  o.max_value_bytes = static_cast<std::size_t>(url.IntParam(
      "max_value_bytes", static_cast<std::int64_t>(o.max_value_bytes), 0, std::int64_t{1} << 30));
  o.clock = std::move(clock);
  return std::make_shared<MemcachedStore>(std::move(o));
}

}  // namespace jeff
