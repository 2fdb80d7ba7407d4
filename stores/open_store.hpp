#pragma once
/// \file
/// OpenStore(url): the store named by a URL, from the store libraries that
/// were built (library jeff-stores). The core never links a store.

#include <jeff/clock.hpp>
#include <jeff/export.hpp>
#include <jeff/store.hpp>

#include <memory>
#include <string_view>

namespace jeff {

/// Options that apply to whatever store a URL names.
struct OpenStoreOptions {
  /// Clock for stores that keep time themselves (memory://, and memcached for
  /// TTLs over 30 days, which it takes as absolute times). Empty: system clock.
  Clock clock;
};

/// Opens the store named by `url`:
///  - `memory://[?shards=N&max_value_bytes=N]`
///  - `redis://[[user]:password@]host[:port][/db][?options]`
///  - `redis+cluster://host:port,host:port[?options]`
///  - `memcached://host:port[,host:port...][?options]`
///  - `postgres://` or `postgresql://` in libpq's URI syntax (MakePostgresStore)
/// (see README "Store URLs" for the options). Throws std::invalid_argument for
/// a malformed URL, an unknown scheme or option, or a backend that was not
/// built. Does not fail when a server is down: the store reports that on use.
JEFF_API std::shared_ptr<Store> OpenStore(std::string_view url,
                                          const OpenStoreOptions& options = {});

}  // namespace jeff
