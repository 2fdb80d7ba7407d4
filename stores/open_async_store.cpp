#include <jeff/stores/open_async_store.hpp>

#include <jeff/store_url.hpp>
#include <jeff/stores/memory/memory_store.hpp>
#include <jeff/stores/detail/url_query.hpp>
#include <jeff/stores/pooled_async_store.hpp>
#if JEFF_HAVE_REDIS_ASYNC
#include <jeff/stores/redis/async_redis_store.hpp>
#endif

#include <stdexcept>
#include <string>
#include <utility>

namespace jeff {
namespace {

constexpr std::string_view kThreadsParam = "async_threads";
constexpr std::string_view kQueueParam = "async_queue";

// A store URL with the pool's own query options taken out.
struct PooledUrl {
  std::string store_url;  // the rest, in order, for OpenStore
  PooledAsyncStoreOptions pool;
};

PooledUrl TakePoolOptions(std::string_view url) {
  auto split = store_detail::TakeQueryOptions(
      url, [](std::string_view name) { return name == kThreadsParam || name == kQueueParam; });
  PooledUrl out{std::move(split.rest), {}};
  auto parsed = ParseStoreUrl("pool://?" + split.taken);
  if (!parsed) throw std::invalid_argument("invalid async_* option in " + RedactStoreUrl(url));
  const PooledAsyncStoreOptions defaults;
  out.pool.threads = static_cast<std::size_t>(
      parsed->IntParam(kThreadsParam, static_cast<std::int64_t>(defaults.threads), 1, 1024));
  out.pool.max_queued = static_cast<std::size_t>(parsed->IntParam(
      kQueueParam, static_cast<std::int64_t>(defaults.max_queued), 0, std::int64_t{1} << 20));
  return out;
}

std::shared_ptr<AsyncStore> OpenAsyncRedisStore([[maybe_unused]] const StoreUrl& url,
                                                [[maybe_unused]] boost::asio::any_io_executor executor) {
#if JEFF_HAVE_REDIS_ASYNC
  return MakeAsyncRedisStore(url, std::move(executor));
#else
  throw std::invalid_argument(
      "this build of jeff has no asynchronous Redis store (AsyncRedisStore was not built)");
#endif
}

}  // namespace

std::shared_ptr<AsyncStore> OpenAsyncStore(std::string_view url,
                                           boost::asio::any_io_executor executor,
                                           const OpenStoreOptions& options) {
  // libpq parses postgres URLs (see OpenStore); every other URL is parsed
  // here only to pick the kind of store.
  if (!url.starts_with("postgres://") && !url.starts_with("postgresql://")) {
    auto parsed = ParseStoreUrl(url);
    if (parsed && parsed->scheme.starts_with("redis")) {
      return OpenAsyncRedisStore(*parsed, std::move(executor));
    }
    if (!parsed || parsed->scheme != "memcached") {
      // memory://, or OpenStore's own error for this URL.
      auto store = OpenStore(url, options);
      if (auto memory = std::dynamic_pointer_cast<MemoryStore>(store)) return memory;
      throw std::invalid_argument("no asynchronous store for " + RedactStoreUrl(url));
    }
  }
  // Clients without an asynchronous API (libmemcached, libpq as the store
  // uses it): their calls run on a bounded pool.
  PooledUrl split = TakePoolOptions(url);
  return std::make_shared<PooledAsyncStore>(OpenStore(split.store_url, options),
                                            std::move(executor), split.pool);
}

}  // namespace jeff
