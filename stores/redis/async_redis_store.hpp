#pragma once
/// \file
/// The non-blocking Redis store (library jeff-redis-async): an AsyncStore
/// on the caller's Boost.Asio event loop, over a few pipelined connections.
///
/// It keeps values exactly as RedisStore does (`<8-byte version><value>`,
/// the same compare-and-swap Lua script, `SET NX` for "only if absent",
/// `DEL`), so a RedisStore and an AsyncRedisStore can share one server and
/// each other's keys, versions included.

#include <jeff/async_store.hpp>
#include <jeff/export.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>

namespace jeff {

struct StoreUrl;

/// Configuration of AsyncRedisStore. Validated by the constructor.
struct AsyncRedisStoreOptions {
  /// The server, credentials, database, timeouts, back-off, key prefix,
  /// value limit and WAIT settings, with RedisStore's meaning and checks.
  /// TLS (`tls`) as RedisStore, the handshake within `connect_timeout`.
  /// A Redis Cluster (`cluster`) as RedisStore: keys routed by slot, MOVED
  /// and ASK followed within the call's timeout; a slot-map load (CLUSTER
  /// SLOTS, node by node) gives each node it asks its own command_timeout.
  /// Redis Sentinel (`sentinel_master`) as RedisStore: the master is asked
  /// for (and confirmed with ROLE) on the first call and again after a call
  /// to it failed or was answered READONLY; each sentinel asked gets its
  /// own command_timeout. Not used: `pool_size`, `pool_timeout`,
  /// `idle_check_after` (see `connections`).
  RedisStoreOptions redis;
  /// Connections to the server (to each node of a cluster, each sentinel).
  /// Calls are spread over them in turn and pipelined: every command queued
  /// while a connection's previous write was under way goes out in its next
  /// single write, and replies are matched in order. Must be >= 1.
  std::size_t connections = 1;
};

/// An AsyncStore on one Redis server, a Redis Cluster or a master found
/// through Redis Sentinel, running on an Asio executor.
///
/// Over TCP or TLS. Calls are made on the thread that runs the executor
/// (which must not run handlers concurrently: one io_context thread, or a
/// strand); handlers run there too. Handlers are called inline only for
/// failures known at once (bad arguments, a server within its reconnect
/// back-off, a slot map or master that just failed to load); otherwise
/// from the loop, after the call returned. Nothing blocks: connecting, AUTH /
/// SELECT, writes and reads are Asio operations on sockets the store owns,
/// and hiredis only formats commands and parses replies.
///
/// Failures are RedisStore's: a refused, reset or closed connection, or a
/// refused certificate -> Errc::kStoreUnavailable; no reply within
/// `command_timeout` (after the connection was made, within
/// `connect_timeout`) -> Errc::kStoreTimeout; a reply of the wrong shape
/// -> Errc::kStoreProtocol; a malformed value -> Errc::kStoreCorrupt;
/// rejected credentials or database index -> Errc::kStoreRefused. The
/// reason, as RedisStore gives it (the server's error reply; for a failed
/// connect or AUTH / SELECT "<host:port>: <step>: <why>", the password
/// hidden), is noted on the loop thread just before the handler runs: the
/// handler reads it with ErrorDetail / DescribeError before it makes
/// another store call. Failures without one leave no older reason behind.
/// Replies on a connection come in order, so a call that times out closes
/// its connection and every call waiting on it fails with kStoreTimeout
/// too: a late reply is never read as another call's answer.
/// The next call connects again. After a failed connect, calls fail at
/// once with that failure during the back-off (`reconnect_backoff_min`,
/// doubling up to `reconnect_backoff_max`).
class JEFF_API AsyncRedisStore final : public AsyncStore {
 public:
  /// Validates `options` (std::invalid_argument naming the bad or
  /// unsupported field). Does not connect: the first call does.
  AsyncRedisStore(AsyncRedisStoreOptions options, boost::asio::any_io_executor executor);
  /// Closes the connections. Calls still in flight are dropped with their
  /// handlers, which are never called.
  ~AsyncRedisStore() override;
  AsyncRedisStore(const AsyncRedisStore&) = delete;
  AsyncRedisStore& operator=(const AsyncRedisStore&) = delete;

  /// One `GET`.
  void AsyncFetch(std::string_view key, FetchHandler done) override;
  /// One `SET NX` (no `expected`) or one `EVALSHA` of the compare-and-swap
  /// script, sent again as `EVAL` when the server answers NOSCRIPT (a
  /// restart, SCRIPT FLUSH). kInvalidArgument when `ttl` < 1 ms;
  /// kValueTooLarge beyond `max_value_bytes`.
  void AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                           std::string_view value, std::chrono::milliseconds ttl,
                           SwapHandler done) override;
  /// One `DEL`.
  void AsyncErase(std::string_view key, EraseHandler done) override;
  /// `redis.wait_replicas` > 0 (see RedisStore::WaitsForReplicas).
  bool WaitsForReplicas() const noexcept override;

  /// The options in force (after defaults were applied).
  const AsyncRedisStoreOptions& options() const noexcept;

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

/// The store for a `redis://` URL (see MakeRedisStore for its form and
/// options), on `executor`: every scheme of MakeRedisStore. `pool_size`,
/// when given, is the number of connections per server (default 1).
/// Throws std::invalid_argument like MakeRedisStore. Does not connect.
JEFF_API std::shared_ptr<AsyncStore> MakeAsyncRedisStore(const StoreUrl& url,
                                                         boost::asio::any_io_executor executor);

}  // namespace jeff
