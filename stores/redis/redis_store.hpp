#pragma once
/// \file
/// The Redis session store (library jeff-redis, hiredis underneath): one
/// Redis server, a Redis Cluster or a master found through Redis Sentinel,
/// through a pool of connections, over TCP or TLS.
///
/// On the wire, the value under a key is `<version><value>`: an 8-byte
/// big-endian version (random, changed by every write) followed by the
/// stored bytes unchanged. Fetch is one `GET`. CompareAndSwap with an
/// expected version is one `EVALSHA <sha> 1 <key> <expected>
/// <version+value> <ttl ms>` of a Lua script that compares the stored
/// 8-byte prefix with `expected` and on a match `SET`s the new value with
/// `PX ttl`, atomically; "only if absent" (no expected version, e.g. a
/// first login) is one native `SET <key> <version+value> PX <ttl> NX`.
/// Erase is `DEL`. A value shorter than 8 bytes (or a key of another Redis
/// type) under a key is reported as Errc::kStoreCorrupt.

#include <jeff/export.hpp>
#include <jeff/key_listing.hpp>
#include <jeff/store.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace jeff {

struct StoreUrl;

/// TLS for every connection of a RedisStore (`rediss://`). OpenSSL carries
/// the bytes; timeouts, pooling and outage semantics are those of plain TCP
/// (a stalled handshake is a connect timeout). A certificate that fails
/// verification makes the server unavailable (Errc::kStoreUnavailable).
struct RedisTlsOptions {
  /// TLS on. false: plain TCP and the other fields must be left empty.
  bool enabled = false;
  /// PEM file of trusted CA certificates. Empty (and `ca_dir` empty): the
  /// system trust store (what managed Redis services need).
  std::string ca_file;
  /// Directory of hashed CA certificates (c_rehash). Empty: none.
  std::string ca_dir;
  /// Client certificate chain (PEM) for mutual TLS; set with `key_file`.
  std::string cert_file;
  /// Client private key (PEM, unencrypted); set with `cert_file`.
  std::string key_file;
  /// Name sent as SNI and required in the server certificate, for every
  /// node. Empty: each node's host (a name is sent as SNI; an IP literal is
  /// matched against the certificate's IP addresses and not sent).
  std::string server_name;
  /// Skip certificate verification (encryption without authentication).
  /// Only for tests and debugging; logs a warning once per store.
  bool insecure_skip_verify = false;
};

/// Configuration of RedisStore. Validated by the constructor.
struct RedisStoreOptions {
  /// A server address.
  struct Host {
    std::string host = "127.0.0.1";  ///< name or IP literal (IPv6 without brackets)
    std::uint16_t port = 6379;       ///< 0: 6379
  };
  /// The server, or with `cluster` the seed nodes (any reachable one tells
  /// the others), or with `sentinel_master` the Sentinels. Empty: throws.
  std::vector<Host> hosts = {Host{}};
  /// Hosts are seeds of a Redis Cluster: keys are routed by hash slot and
  /// MOVED/ASK redirections are followed. false: exactly one host.
  bool cluster = false;
  /// ACL user for AUTH (Redis 6+). Empty: the default user (`AUTH <password>`).
  std::string username;
  /// Password for AUTH. Empty: no AUTH (then `username` must be empty too).
  std::string password;
  /// Database to SELECT on every new connection. 0: the default database
  /// (the only one a cluster has).
  int db = 0;
  /// Longest wait for TCP connect plus AUTH/SELECT of a new connection.
  /// Must be > 0 (0 throws: no call may block without bound).
  std::chrono::milliseconds connect_timeout{1000};
  /// Longest wait for the server's replies to one call, all its round trips
  /// (redirections, script reload) together; then kStoreTimeout and the
  /// connection is closed. Must be > 0 (0 throws).
  std::chrono::milliseconds command_timeout{1000};
  /// Connections per server. 0: unbounded (a new connection whenever none
  /// is idle).
  std::size_t pool_size = 16;
  /// Longest wait for a connection when `pool_size` are in use; then
  /// kStoreTimeout. 0: fail at once.
  std::chrono::milliseconds pool_timeout{1000};
  /// A pooled connection idle for longer than this is checked before use
  /// (one poll(2)), so that one the server closed (a restart, its idle
  /// timeout) is replaced instead of failing the call. One used more recently
  /// is taken as is, saving a system call per call: a server that went away
  /// within this window fails one call per such connection. 0: check always.
  std::chrono::milliseconds idle_check_after{1000};
  /// TCP keepalive idle time of every connection. 0: keepalive off.
  std::chrono::seconds keepalive{15};
  /// After a failed connect, calls fail fast (with that failure) for this
  /// long before the next attempt; the wait doubles per failure up to
  /// `reconnect_backoff_max`. 0: try to connect on every call.
  std::chrono::milliseconds reconnect_backoff_min{50};
  /// Upper bound of the reconnect back-off (>= the minimum). 0: only
  /// allowed with a minimum of 0.
  std::chrono::milliseconds reconnect_backoff_max{2000};
  /// Redis Sentinel: non-empty, `hosts` are Sentinels (port 0: 26379) and
  /// the store talks to the master they name under this master name. It is
  /// asked for with `SENTINEL get-master-addr-by-name` (sentinels in order,
  /// the first one that answers with a server that confirms with `ROLE` that
  /// it is a master wins) and asked again, at most every 100 ms, after a
  /// call to the master failed to connect or timed out, or was answered
  /// `-READONLY` (a demoted master). Calls in between fail with the master's
  /// error (kStoreUnavailable / kStoreTimeout): a failover is an outage of
  /// roughly `down-after-milliseconds` plus the election, never a wrong
  /// answer. Not with `cluster`.
  std::string sentinel_master;
  /// ACL user for AUTH on the Sentinels (data nodes use `username`).
  std::string sentinel_username;
  /// Password for AUTH on the Sentinels. Empty: no AUTH on them.
  std::string sentinel_password;
  /// After every write (SET, the compare-and-swap script, DEL), `WAIT` for
  /// this many replicas to acknowledge it, pipelined with the write. Fewer
  /// acknowledgements within `wait_timeout` fail the write with
  /// kStoreUnavailable (it may or may not survive a failover). Redis
  /// replication is asynchronous: without this, a write acknowledged just
  /// before the master dies can be lost. > 0 also makes the store report
  /// WaitsForReplicas, so that Sessions writes (and so waits) for every
  /// revoke, even one that removes nothing. 0: no WAIT.
  int wait_replicas = 0;
  /// Longest WAIT (> 0 and below `command_timeout` when `wait_replicas` > 0).
  std::chrono::milliseconds wait_timeout{200};
  /// MOVED/ASK redirections followed by one call before it fails with
  /// kStoreUnavailable (cluster only). 0: redirections are failures.
  int max_redirects = 5;
  /// Prepended to every key (a namespace on a shared server). Empty: keys
  /// are used as given. With `cluster` it may not contain '{' (a hash tag
  /// would put every session on one node).
  std::string key_prefix;
  /// Largest value accepted (Errc::kValueTooLarge beyond). 0: no limit but
  /// Redis' own (512 MB).
  std::size_t max_value_bytes = 1 << 20;
  /// TLS settings (off by default).
  RedisTlsOptions tls;
  /// Receives warnings (insecure_skip_verify). Empty: standard error.
  std::function<void(std::string_view)> logger;
};

/// A Store on Redis (hiredis). Thread-safe: every call borrows its own
/// connection from a pool (a connection is never used by two threads), and a
/// connection that timed out or failed mid-command is closed, never reused.
///
/// Failures: a refused, reset or closed connection, a server that is loading
/// its dataset or a cluster that is down -> Errc::kStoreUnavailable; no reply
/// within `command_timeout` or no free connection within `pool_timeout` ->
/// Errc::kStoreTimeout; a reply of the wrong shape -> Errc::kStoreProtocol; a
/// malformed value -> Errc::kStoreCorrupt. Nothing is retried silently except
/// redirections and a script reload, so a failure is reported promptly and
/// never as a missing key. After a server restart the store reconnects by
/// itself (connections idle for `idle_check_after` are checked before use;
/// a broken one is replaced).
///
/// A call returns within pool_timeout + connect_timeout + command_timeout,
/// even when the server is stopped (SIGSTOP). On a cluster, a call that
/// refreshes the slot map (the first call, and the first after a node failed)
/// may add one command_timeout, plus a connect_timeout per node it tries;
/// with Sentinel, so may a call that asks the sentinels for the master (the
/// first call, and the first after the master failed).
/// Host names are resolved by the system resolver, which has no timeout of ours.
class JEFF_API RedisStore final : public Store, public KeyListing {
 public:
  /// Validates `options` (throws std::invalid_argument naming the bad
  /// field). Does not connect: a server that is down is reported on use.
  explicit RedisStore(RedisStoreOptions options);
  /// Closes every pooled connection. No call may still be running.
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  /// One `GET`. std::nullopt when the key is missing or expired.
  Result<std::optional<Versioned>> Fetch(std::string_view key) override;
  /// Fetch into `value`, reusing its capacity (see Store::FetchInto); one `GET`.
  Result<std::optional<Version>> FetchInto(std::string_view key, std::string& value) override;
  /// One `SET ... PX ttl NX` without `expected`; else one `EVALSHA` (plus
  /// one `SCRIPT LOAD` after a server restart or `SCRIPT FLUSH`).
  /// kInvalidArgument when `ttl` < 1 ms; kValueTooLarge beyond
  /// `max_value_bytes`.
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                              std::string_view value, std::chrono::milliseconds ttl) override;
  /// One `DEL`.
  Result<void> Erase(std::string_view key) override;
  /// KeyListing: `SCAN <cursor> MATCH <key_prefix + prefix>* COUNT <page>`
  /// until the cursor comes back 0, on the server, on Sentinel's master, or
  /// on every master of a cluster in turn (the slot map is loaded first; a
  /// slot without a master is kStoreUnavailable). Keys are given without
  /// `key_prefix`. SCAN's guarantees: a key present throughout is returned,
  /// perhaps twice; on a cluster, keys of a slot migrating or failing over
  /// during the listing may be missed (run it again). Each SCAN has its own
  /// `command_timeout`; failures as for every call.
  Result<void> ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) override;
  /// `wait_replicas` > 0: every write is followed by WAIT, and fails when
  /// fewer replicas acknowledge it.
  bool WaitsForReplicas() const noexcept override;

  /// The options in force (after defaults were applied).
  const RedisStoreOptions& options() const noexcept;

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

/// The store for a Redis URL (see OpenStore):
///  - `redis://[[username]:password@]host[:port][/db]`
///  - `redis+cluster://[[username]:password@]host[:port][,host[:port]...]`
///  - `redis-sentinel://[[username]:password@]sentinel[:port][,...]/master[/db]`
///    (credentials are the data nodes'; `sentinel_username` and
///    `sentinel_password` query options are the Sentinels')
///  - `rediss://`, `rediss+cluster://`, `rediss-sentinel://`: the same over
///    TLS, with options `ca_file`, `ca_dir`, `cert_file`, `key_file`,
///    `server_name`, `insecure_skip_verify` (true/false)
/// with query options `connect_timeout`, `timeout`, `pool_timeout`,
/// `reconnect_min`, `reconnect_max`, `wait_timeout` (durations: `250ms`,
/// `2s`, a bare number is milliseconds), `keepalive` (seconds), `pool_size`,
/// `max_redirects`, `max_value_bytes`, `wait_replicas` (integers) and
/// `prefix`. Throws std::invalid_argument for another scheme, a missing or
/// extra host, a bad db, an unknown option or a value out of range. Does not
/// connect.
JEFF_API std::shared_ptr<Store> MakeRedisStore(const StoreUrl& url);

}  // namespace jeff
