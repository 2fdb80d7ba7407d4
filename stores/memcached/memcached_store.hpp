#pragma once
/// \file
/// The memcached session store (library jeff-memcached): libmemcached behind
/// a pool of handles, compare-and-swap on cas uniques, keys spread over
/// several servers with consistent hashing (ketama).

#include <jeff/clock.hpp>
#include <jeff/export.hpp>
#include <jeff/store.hpp>
#include <jeff/store_url.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jeff {

/// One memcached server.
struct MemcachedServer {
  std::string host;            ///< name or IP address (IPv6 without brackets)
  std::uint16_t port = 11211;  ///< 0: memcached's default port, 11211
};

/// Configuration of MemcachedStore. Validated once, by the constructor.
struct MemcachedStoreOptions {
  /// The servers, in any order: keys are placed by ketama (the
  /// libketama-compatible MD5 continuum), so losing or adding one server
  /// moves only that server's share of keys. Empty: rejected.
  std::vector<MemcachedServer> servers;
  /// Longest wait for a TCP connection to a server. 0: rejected (a store
  /// that may wait forever is never wanted).
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(1);
  /// Longest wait for a server to accept a request or answer one (each
  /// poll). A call that runs out fails with Errc::kStoreTimeout.
  /// 0: rejected.
  std::chrono::milliseconds io_timeout = std::chrono::seconds(1);
  /// After a failed connection attempt a pooled handle skips that server
  /// for this long (its keys fail at once with Errc::kStoreUnavailable),
  /// then tries again. Whole seconds, libmemcached's unit.
  /// 0: try again from the next whole second on.
  std::chrono::seconds retry_timeout = std::chrono::seconds(2);
  /// Most libmemcached handles open at once; each holds one connection to
  /// each server it has used. 0: rejected.
  std::size_t pool_size = 16;
  /// How long a call waits for a free handle when all pool_size are busy
  /// before failing with Errc::kStoreTimeout. 0: no waiting.
  std::chrono::milliseconds pool_wait_timeout = std::chrono::seconds(1);
  /// Prepended to every key (to share servers between applications).
  /// Printable ASCII without spaces, at most 128 bytes. Empty: no prefix.
  std::string key_prefix;
  /// Largest value sent; larger ones fail with Errc::kValueTooLarge before
  /// any I/O. Match it to the servers' item size limit (`memcached -I`,
  /// default 1 MiB, which also counts the key and about 50 bytes of item
  /// header). 0: no check here; the servers' own limit still applies and
  /// also yields Errc::kValueTooLarge.
  std::size_t max_value_bytes = 1 << 20;
  /// Source of time, read only to turn a TTL of 30 days or more into the
  /// absolute Unix time memcached requires for it. Empty: the system clock.
  Clock clock;
};

/// A Store on one or more memcached servers.
///
/// Thread-safe: calls take a libmemcached handle from a pool (never one
/// handle shared between threads). Fetch is one `gets`, CompareAndSwap one
/// `cas` (or `add` when the key must be absent), Erase one `delete`.
///
/// Failures: an unreachable or dead server fails the calls for its own keys
/// with Errc::kStoreUnavailable, a server that stops answering fails them
/// with Errc::kStoreTimeout after io_timeout; keys on the other servers are
/// unaffected. Keys are never moved to another server while one is down
/// (that would let an old record, and a revoked session in it, come back
/// when the server returns). A server that comes back is used again
/// without recreating the store; memcached keeps nothing across restarts,
/// so the sessions it held are gone.
class JEFF_API MemcachedStore final : public Store {
 public:
  /// Configures the pool; does not connect (a server that is down is
  /// reported by the calls that need it). Throws std::invalid_argument when
  /// `options` are invalid (see MemcachedStoreOptions), std::bad_alloc when
  /// libmemcached cannot allocate its handle.
  explicit MemcachedStore(MemcachedStoreOptions options);
  /// Closes every pooled handle. No call may still be running.
  ~MemcachedStore() override;
  MemcachedStore(const MemcachedStore&) = delete;
  MemcachedStore& operator=(const MemcachedStore&) = delete;

  /// Reads `key` with its cas unique as the Version. std::nullopt when it is
  /// missing or expired; Errc::kStore* when the server could not answer;
  /// Errc::kInvalidArgument for a key memcached cannot hold.
  Result<std::optional<Versioned>> Fetch(std::string_view key) override;
  /// Fetch into `value`, reusing its capacity (see Store::FetchInto); same
  /// errors as Fetch.
  Result<std::optional<Version>> FetchInto(std::string_view key, std::string& value) override;
  /// `cas` with `expected` (a mismatch or a vanished key: false), or `add`
  /// when `expected` is std::nullopt (an existing key: false). TTLs are
  /// rounded up to whole seconds and never cut short. Errc::kValueTooLarge
  /// beyond max_value_bytes or the server's item limit (nothing is stored);
  /// Errc::kInvalidArgument for a bad key or a TTL <= 0.
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                              std::string_view value, std::chrono::milliseconds ttl) override;
  /// `delete`; a missing key is success.
  Result<void> Erase(std::string_view key) override;

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

/// A MemcachedStore for `url`: `memcached://host[:port][,host[:port]...]`
/// (port default 11211) with the query options `connect_timeout`,
/// `io_timeout`, `retry_timeout`, `pool_wait_timeout` (durations: `250ms`,
/// `2s`, a bare number is milliseconds), `pool_size`, `prefix`,
/// `max_value_bytes`. `clock` is MemcachedStoreOptions::clock. Throws
/// std::invalid_argument for another scheme, no host, a user, password or
/// path (memcached has no databases, and SASL is not supported), an unknown
/// option or an invalid value.
JEFF_API std::shared_ptr<Store> MakeMemcachedStore(const StoreUrl& url, Clock clock = {});

}  // namespace jeff
