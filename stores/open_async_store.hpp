#pragma once
/// \file
/// OpenAsyncStore(url, executor): the asynchronous store named by a URL, for
/// AsyncSessions (library jeff-stores-async, Boost.Asio). Same URLs as
/// OpenStore.

#include <jeff/async_store.hpp>
#include <jeff/export.hpp>
#include <jeff/stores/open_store.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string_view>

namespace jeff {

/// Opens the asynchronous store named by `url`, whose completions run on
/// `executor` (the event loop that calls it):
///  - `memory://...`: a MemoryStore (completes inline), options as OpenStore;
///  - `memcached://...`, `postgres://...`, `postgresql://...`: the
///    synchronous store OpenStore opens, wrapped in a PooledAsyncStore. Two
///    more query options size that pool and are taken out of the URL before
///    the store sees it: `async_threads` (threads that run store calls,
///    1-1024, default PooledAsyncStoreOptions::threads = 8; match the store's
///    `pool_size`) and `async_queue` (calls that may wait for a thread,
///    0-1048576, default PooledAsyncStoreOptions::max_queued = 1024; beyond
///    it a call fails at once with Errc::kStoreUnavailable);
///  - `redis[s][+cluster|-sentinel]://...`: AsyncRedisStore, on `executor`,
///    in builds that have it (otherwise std::invalid_argument).
/// Throws std::invalid_argument as OpenStore does (malformed URL, unknown
/// scheme or option, backend not built) and for a bad `async_*` option. Does
/// not fail when a server is down: the store reports that on use.
JEFF_API std::shared_ptr<AsyncStore> OpenAsyncStore(std::string_view url,
                                                    boost::asio::any_io_executor executor,
                                                    const OpenStoreOptions& options = {});

}  // namespace jeff
