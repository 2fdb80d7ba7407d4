#include <jeff/stores/open_store.hpp>

#include <jeff/store_url.hpp>
#include <jeff/stores/memory/memory_store.hpp>
#ifdef JEFF_HAVE_REDIS
#include <jeff/stores/redis/redis_store.hpp>
#endif
#ifdef JEFF_HAVE_MEMCACHED
#include <jeff/stores/memcached/memcached_store.hpp>
#endif
#ifdef JEFF_HAVE_POSTGRES
#include <jeff/stores/postgres/postgres_store.hpp>
#endif

#include <stdexcept>
#include <string>

namespace jeff {

std::shared_ptr<Store> OpenStore(std::string_view url, const OpenStoreOptions& options) {
  // libpq's URI syntax (Unix-socket hosts, host-less URIs, its own query
  // options) is libpq's to parse.
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
#ifdef JEFF_HAVE_POSTGRES
    return MakePostgresStore(url);
#else
    throw std::invalid_argument("this build of jeff has no PostgreSQL store (libpq was not found)");
#endif
  }
  auto parsed = ParseStoreUrl(url);
  if (!parsed) {
    const std::string why = ErrorDetail(parsed.error());
    ClearErrorDetail();  // read: not to be shown for a later kInvalidArgument
    throw std::invalid_argument("invalid store URL " + RedactStoreUrl(url) + (why.empty() ? "" : ": " + why));
  }
  const StoreUrl& u = *parsed;
  if (u.scheme == "memory") {
    if (!u.hosts.empty() || !u.path.empty()) {
      throw std::invalid_argument("memory:// takes no host or path");
    }
    u.RequireKnownParams({"shards", "max_value_bytes", "sweep_interval"});
    MemoryStoreOptions o;
    o.shards = static_cast<std::size_t>(u.IntParam("shards", 64, 1, 1 << 16));
    o.max_value_bytes =
        static_cast<std::size_t>(u.IntParam("max_value_bytes", 1 << 20, 0, std::int64_t{1} << 32));
    o.sweep_interval = u.DurationParam("sweep_interval", std::chrono::seconds(10));
    o.clock = options.clock;
    return std::make_shared<MemoryStore>(std::move(o));
  }
  if (u.scheme.starts_with("redis")) {  // redis[s], redis[s]+cluster, redis[s]-sentinel
#ifdef JEFF_HAVE_REDIS
    return MakeRedisStore(u);
#else
    throw std::invalid_argument("this build of jeff has no Redis store (hiredis was not found)");
#endif
  }
  if (u.scheme == "memcached") {
#ifdef JEFF_HAVE_MEMCACHED
    return MakeMemcachedStore(u, options.clock);
#else
    throw std::invalid_argument("this build of jeff has no memcached store (libmemcached was not found)");
#endif
  }
  throw std::invalid_argument("unknown store URL scheme '" + u.scheme +
                              "' (expected memory, redis[s], redis[s]+cluster, redis[s]-sentinel, memcached or postgres)");
}

}  // namespace jeff
