#pragma once
/// \file
/// KeyListing: an optional capability of a Store, listing its keys by
/// prefix, for operator tools that visit every record of an application
/// (`jeffctl sessions rekey`). Sessions never lists keys. A store that can
/// list implements it beside Store (RedisStore, PostgresStore,
/// MemoryStore); one that cannot (memcached has no way to enumerate keys)
/// does not, so `dynamic_cast<KeyListing*>(store)` tells.

#include <jeff/export.hpp>
#include <jeff/result.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace jeff {

/// Lists the keys of a store that start with a prefix, a page at a time.
class JEFF_API KeyListing {
 public:
  /// Receives one page of keys (each as Fetch takes it). An error stops the
  /// listing, which then returns it.
  using Visit = std::function<Result<void>(std::span<const std::string> keys)>;

  virtual ~KeyListing() = default;

  /// Calls `visit` with the live keys that start with `prefix` (empty: all),
  /// about `page` keys per call (> 0, a hint; else Errc::kInvalidArgument),
  /// each from one round trip, so the store is never asked for all keys at
  /// once. Not a snapshot: every key that exists for the whole listing is
  /// visited at least once (a key may be visited twice), and a key written
  /// or removed meanwhile may or may not be; so `visit` may write to the
  /// store. Fails with the store's error (Errc::kStore*) when a page could
  /// not be read, having visited the pages before it.
  virtual Result<void> ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) = 0;
};

}  // namespace jeff
