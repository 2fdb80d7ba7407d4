#pragma once
// Test support for the Redis store: a raw hiredis client for inspecting and
// tampering with the server, a real 3-node Redis Cluster, and fake servers
// that never answer or answer nonsense.

#include "support/server_process.hpp"

#include <jeff/stores/redis/redis_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct redisContext;
struct redisReply;

namespace jeff::test {

/// A blocking hiredis connection for test set-up and checks. Throws
/// std::runtime_error on connection errors and error replies.
class RawRedis {
 public:
  explicit RawRedis(std::uint16_t port, std::string password = "");
  ~RawRedis();
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  /// A string, status or error reply's text; "(nil)" for nil; the number for
  /// an integer; throws for arrays and errors.
  std::string Text(const std::vector<std::string>& argv);
  /// An integer reply.
  long long Int(const std::vector<std::string>& argv);
  /// The raw reply (arrays), owned by the caller via the deleter.
  std::shared_ptr<redisReply> Raw(const std::vector<std::string>& argv);
  /// Like Text, but an error reply is returned as its text instead of thrown.
  std::string TextOrError(const std::vector<std::string>& argv);

 private:
  redisContext* context_;
  bool last_was_error_ = false;
};

/// Options for a RedisStore on 127.0.0.1:port with test-friendly timeouts.
RedisStoreOptions LocalOptions(std::uint16_t port);

/// A Redis Cluster of `nodes` masters with `replicas` replicas each on free
/// loopback ports (nodes() lists the masters first as created; a failover
/// changes the roles), created with `redis-cli --cluster create` and waited
/// for until every node reports cluster_state:ok. `node_timeout`: the
/// cluster-node-timeout after which a master is failed over. Throws (never
/// skips) when that fails.
class RedisCluster {
 public:
  explicit RedisCluster(int nodes = 3, int replicas = 0,
                        std::chrono::milliseconds node_timeout = std::chrono::seconds(5));
  std::vector<std::unique_ptr<ServerProcess>>& nodes() { return nodes_; }
  /// "redis+cluster://127.0.0.1:p1,127.0.0.1:p2,..."
  std::string Url() const;
  /// Options with all nodes as seeds.
  RedisStoreOptions Options() const;
  /// The node id (CLUSTER MYID) of node i.
  std::string Id(std::size_t i);
  /// Index of the node that owns `slot` according to node 0.
  std::size_t OwnerOf(std::uint16_t slot);
  /// Moves `slot` and its keys from node `from` to node `to`: the three
  /// steps below in a row.
  void MigrateSlot(std::uint16_t slot, std::size_t from, std::size_t to);
  /// SETSLOT IMPORTING on `to`, MIGRATING on `from`: from now on `from`
  /// answers ASK for keys of `slot` that it does not have.
  void BeginMigration(std::uint16_t slot, std::size_t from, std::size_t to);
  /// MIGRATEs every key of `slot` from `from` to `to`.
  void MoveKeys(std::uint16_t slot, std::size_t from, std::size_t to);
  /// SETSLOT NODE `to` on every node (target first), then waits until all agree.
  void FinishMigration(std::uint16_t slot, std::size_t from, std::size_t to);
  /// Waits until every node reports cluster_state:ok and agrees on the owner of `slot`.
  void WaitConverged(std::uint16_t slot = 0);

 private:
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

/// A TCP listener on a free loopback port that accepts connections, reads
/// and discards what it is sent, and answers with `reply` (nothing when
/// empty). With `close_at_once`, closes every connection right after accept.
class FakeServer {
 public:
  explicit FakeServer(std::string reply = "", bool close_at_once = false);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  void Serve();
  std::string reply_;
  bool close_at_once_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// What the workers of RunOutage see and count.
struct OutageDrill {
  enum Phase : int {
    kUp,         ///< the server runs
    kKilling,    ///< SIGKILL under way: calls may go either way
    kDown,       ///< killed and its port closed: every call must fail
    kRestarted,  ///< running again on the same port, with no data
  };
  std::atomic<int> phase{kUp};
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0};                ///< calls that succeeded (see Ok)
  std::atomic<long> ok_after_restart{0};  ///< of those, started after the restart
  std::atomic<long> failed{0};            ///< calls that failed (workers count)
  long ok_before_kill = 0;                ///< `ok` when the kill began
  long failed_by_restart = 0;             ///< `failed` when the restart began
  /// Counts a successful call that started in phase `before`.
  void Ok(int before) {
    ok.fetch_add(1);
    if (before == kRestarted) ok_after_restart.fetch_add(1);
  }
};

/// Runs `worker(i)` on `threads` threads (each loops until drill.stop) for
/// `up`, kills `server`, waits `down`, restarts it on the same port and lets
/// the workers run for `after`; fills in the drill's snapshots.
void RunOutage(ServerProcess& server, int threads, OutageDrill& drill,
               const std::function<void(int)>& worker, std::chrono::milliseconds up,
               std::chrono::milliseconds down, std::chrono::milliseconds after);

/// Checks (doctest) that calls succeeded before the kill and after the
/// restart and failed in between, and reports the counts.
void CheckOutageCounts(const OutageDrill& drill);

/// Milliseconds elapsed while running `f`.
template <typename F>
std::chrono::milliseconds Timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

}  // namespace jeff::test
