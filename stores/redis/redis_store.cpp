#include <jeff/stores/redis/redis_store.hpp>

#include "cluster_slots.hpp"
#include "compare_and_swap_script.hpp"
#include "connection.hpp"
#include "connection_pool.hpp"
#include "replies.hpp"
#include "tls.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace jeff {

using redis_detail::Command;
using redis_detail::ConnectionPool;
using redis_detail::Deadline;
using redis_detail::Endpoint;
using redis_detail::Reply;
using redis_detail::SteadyClock;

namespace {

// A failed slot-map refresh is not repeated sooner than this, so that a dead
// node does not make every call probe the whole cluster.
constexpr std::chrono::milliseconds kRefreshInterval{100};

void Require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("RedisStoreOptions: ") + what);
}

RedisStoreOptions Validated(RedisStoreOptions o) {
  Require(!o.hosts.empty(), "hosts is empty");
  const bool sentinel = !o.sentinel_master.empty();
  Require(!(sentinel && o.cluster), "sentinel_master with cluster");
  Require(o.cluster || sentinel || o.hosts.size() == 1, "more than one host without cluster");
  for (auto& h : o.hosts) {
    Require(!h.host.empty(), "a host name is empty");
    if (h.port == 0) h.port = sentinel ? 26379 : 6379;
  }
  Require(sentinel || (o.sentinel_username.empty() && o.sentinel_password.empty()),
          "sentinel credentials without sentinel_master");
  Require(o.sentinel_username.empty() || !o.sentinel_password.empty(),
          "sentinel_username without sentinel_password");
  Require(o.wait_replicas >= 0, "wait_replicas is negative");
  Require(o.wait_replicas == 0 ||
              (o.wait_timeout.count() > 0 && o.wait_timeout < o.command_timeout),
          "wait_timeout must be > 0 and below command_timeout");
  Require(o.db >= 0, "db is negative");
  Require(!o.cluster || o.db == 0, "a cluster has only db 0");
  Require(o.username.empty() || !o.password.empty(), "username without password");
  Require(o.connect_timeout.count() > 0, "connect_timeout must be > 0");
  Require(o.command_timeout.count() > 0, "command_timeout must be > 0");
  Require(o.pool_timeout.count() >= 0, "pool_timeout is negative");
  Require(o.keepalive.count() >= 0, "keepalive is negative");
  Require(o.idle_check_after.count() >= 0, "idle_check_after is negative");
  Require(o.reconnect_backoff_min.count() >= 0, "reconnect_backoff_min is negative");
  Require(o.reconnect_backoff_max >= o.reconnect_backoff_min,
          "reconnect_backoff_max is below reconnect_backoff_min");
  Require(o.max_redirects >= 0, "max_redirects is negative");
  Require(!o.cluster || o.key_prefix.find('{') == std::string::npos,
          "key_prefix contains '{' (a hash tag) on a cluster");
  const RedisTlsOptions& t = o.tls;
  Require(t.enabled || (t.ca_file.empty() && t.ca_dir.empty() && t.cert_file.empty() &&
                        t.key_file.empty() && t.server_name.empty() && !t.insecure_skip_verify),
          "tls options given with tls.enabled false");
  if (!o.logger) {
    o.logger = [](std::string_view line) { std::cerr << line << std::endl; };
  }
  return o;
}

redis_detail::PoolOptions PoolOptionsOf(const RedisStoreOptions& o) {
  redis_detail::PoolOptions p;
  p.connect.connect_timeout = o.connect_timeout;
  p.connect.keepalive = o.keepalive;
  p.connect.username = o.username;
  p.connect.password = o.password;
  p.connect.db = o.db;
  if (o.tls.enabled) p.connect.tls = redis_detail::TlsContext::Make(o.tls, o.logger);
  // A call may overrun its deadline by one read slice: a tenth of the
  // shorter timeout, between 1 and 25 ms.
  p.connect.read_slice = std::clamp(std::min(o.command_timeout, o.connect_timeout) / 10,
                                    std::chrono::milliseconds(1), std::chrono::milliseconds(25));
  p.idle_check_after = o.idle_check_after;
  p.size = o.pool_size;
  p.wait_timeout = o.pool_timeout;
  p.backoff_min = o.reconnect_backoff_min;
  p.backoff_max = o.reconnect_backoff_max;
  return p;
}

// A random version, different from the one being replaced. Random rather
// than counted so that a key that was erased and re-added never repeats a
// version an old reader may still hold (no ABA).
Version NewVersion(std::optional<Version> expected) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  Version v;
  do {
    v = rng();
  } while (v == 0 || (expected && v == *expected));
  return v;
}

// One call's time budget for all its round trips, starting at the first.
class Budget {
 public:
  explicit Budget(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  Deadline deadline() {
    if (!deadline_) deadline_ = SteadyClock::now() + timeout_;
    return *deadline_;
  }

 private:
  std::chrono::milliseconds timeout_;
  std::optional<Deadline> deadline_;
};

bool IsStatusOk(const Reply& reply) {
  return reply->type == REDIS_REPLY_STATUS && redis_detail::ReplyText(*reply) == "OK";
}

}  // namespace

struct RedisStore::Impl {
  struct Node {
    Node(Endpoint endpoint, redis_detail::PoolOptions options)
        : pool(std::move(endpoint), std::move(options)) {}
    ConnectionPool pool;
  };

  explicit Impl(RedisStoreOptions o)
      : options(Validated(std::move(o))),
        pool_options(PoolOptionsOf(options)),
        sha(redis_detail::ScriptSha1(redis_detail::kCompareAndSwapScript)),
        wait_replicas(std::to_string(options.wait_replicas)),
        wait_millis(std::to_string(options.wait_timeout.count())) {
    redis_detail::PoolOptions sentinel_options = pool_options;
    sentinel_options.connect.username = options.sentinel_username;
    sentinel_options.connect.password = options.sentinel_password;
    sentinel_options.connect.db = 0;
    for (const auto& h : options.hosts) {
      if (!options.sentinel_master.empty()) {
        sentinels.push_back(std::make_unique<Node>(Endpoint{h.host, h.port}, sentinel_options));
        continue;
      }
      Node* node = NodeFor(Endpoint{h.host, h.port});
      if (!options.cluster) single = node;
    }
  }

  // The node at `endpoint`, created on first sight. Nodes are never removed,
  // so the pointer stays valid for the store's lifetime.
  Node* NodeFor(const Endpoint& endpoint) {
    const std::string name = endpoint.ToString();
    std::lock_guard lock(nodes_mu);
    auto& node = nodes[name];
    if (!node) node = std::make_unique<Node>(endpoint, pool_options);
    return node.get();
  }

  std::string FullKey(std::string_view key) const {
    std::string full;
    full.reserve(options.key_prefix.size() + key.size());
    full.append(options.key_prefix).append(key);
    return full;
  }

  // Sends `command` to `node` (after ASKING when `asking`; followed by WAIT
  // when `write` and wait_replicas is set) on one pooled connection. For the
  // script, a NOSCRIPT answer is followed by SCRIPT LOAD and the command
  // again, pipelined on the same connection.
  Result<Reply> CallNode(Node& node, Command command, bool asking, bool script, bool write,
                         Budget& budget) {
    auto lease = node.pool.Acquire();
    if (!lease) return lease.error();
    static constexpr std::array<std::string_view, 1> kAsking{"ASKING"};
    const std::array<std::string_view, 3> load{"SCRIPT", "LOAD", redis_detail::kCompareAndSwapScript};
    const std::array<std::string_view, 3> wait{"WAIT", wait_replicas, wait_millis};
    const bool waiting = write && options.wait_replicas > 0;
    std::array<Command, 4> commands;
    std::array<Reply, 4> replies;
    for (bool reload : {false, true}) {
      std::size_t n = 0;
      if (reload) commands[n++] = load;
      if (asking) commands[n++] = kAsking;
      commands[n++] = command;
      const std::size_t main = n - 1;
      if (waiting) commands[n++] = wait;
      auto sent = (*lease)->Exchange(std::span(commands.data(), n), std::span(replies.data(), n),
                                     budget.deadline());
      if (!sent) return sent.error();
      if (reload) {
        if (replies[0]->type == REDIS_REPLY_ERROR) return redis_detail::ErrorFromReply(*replies[0]);
        if (redis_detail::ReplyText(*replies[0]) != sha) return Errc::kStoreProtocol;
      }
      if (asking && !IsStatusOk(replies[main - 1])) return Errc::kStoreProtocol;
      Reply& reply = replies[main];
      if (script && redis_detail::IsErrorReply(*reply, "NOSCRIPT")) continue;
      if (waiting && reply->type != REDIS_REPLY_ERROR) {
        const redisReply& acks = *replies[n - 1];
        if (acks.type == REDIS_REPLY_ERROR) return redis_detail::ErrorFromReply(acks);
        if (acks.type != REDIS_REPLY_INTEGER) return Errc::kStoreProtocol;
        // Written on the master, not (yet) on enough replicas: a failover
        // now could lose it, so it is not reported as done.
        if (acks.integer < options.wait_replicas) return Errc::kStoreUnavailable;
      }
      return std::move(reply);
    }
    return Errc::kStoreProtocol;  // NOSCRIPT right after SCRIPT LOAD
  }

  // Sentinel: `command` to the current master, found again after a failure.
  Result<Reply> CallMaster(Command command, bool script, bool write, Budget& budget) {
    Node* node = master.load(std::memory_order_acquire);
    if (node == nullptr || rediscover.load(std::memory_order_relaxed)) {
      if (auto found = DiscoverMaster(); !found) return found.error();
      node = master.load(std::memory_order_acquire);
    }
    auto reply = CallNode(*node, command, false, script, write, budget);
    // A dead or unreachable master, or one that was demoted to a replica:
    // ask the sentinels again (the caller still gets this call's failure).
    if (!reply || redis_detail::IsErrorReply(**reply, "READONLY")) {
      rediscover.store(true, std::memory_order_relaxed);
    }
    return reply;
  }

  // Asks the sentinels in order for the master and keeps the first answer
  // that the named server confirms with ROLE. Returns the previous outcome
  // when a discovery finished very recently.
  Result<void> DiscoverMaster() {
    std::lock_guard lock(refresh_mu);
    if (refreshed_at && SteadyClock::now() - *refreshed_at < kRefreshInterval) {
      return refresh_error;
    }
    const std::array<std::string_view, 3> ask{"SENTINEL", "get-master-addr-by-name",
                                              options.sentinel_master};
    static constexpr std::array<std::string_view, 1> kRole{"ROLE"};
    Budget budget(options.command_timeout);
    std::error_code error = make_error_code(Errc::kStoreUnavailable);
    for (const auto& sentinel : sentinels) {
      auto reply = CallNode(*sentinel, ask, false, false, false, budget);
      if (!reply) {
        error = reply.error();
        continue;
      }
      auto endpoint = MasterAddress(**reply);
      if (!endpoint) {
        error = endpoint.error();
        continue;
      }
      Node* node = NodeFor(*endpoint);
      auto role = CallNode(*node, kRole, false, false, false, budget);
      if (!role) {
        error = role.error();
        continue;
      }
      const redisReply& r = **role;
      if (r.type == REDIS_REPLY_ARRAY && r.elements > 0 &&
          redis_detail::ReplyText(*r.element[0]) == "master") {
        master.store(node, std::memory_order_release);
        rediscover.store(false, std::memory_order_relaxed);
        error.clear();
        break;
      }
      // This sentinel's view is stale (a failover is under way): next one.
      error = r.type == REDIS_REPLY_ERROR ? redis_detail::ErrorFromReply(r)
                                          : make_error_code(Errc::kStoreUnavailable);
    }
    refreshed_at = SteadyClock::now();
    refresh_error = error;
    return error;
  }

  // The [ip, port] answer to SENTINEL get-master-addr-by-name.
  static Result<Endpoint> MasterAddress(const redisReply& r) {
    if (r.type == REDIS_REPLY_ERROR) return redis_detail::ErrorFromReply(r);
    if (r.type == REDIS_REPLY_NIL) return Errc::kStoreUnavailable;  // no such master (yet)
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 2) return Errc::kStoreProtocol;
    const std::string_view host = redis_detail::ReplyText(*r.element[0]);
    const std::string_view port_text = redis_detail::ReplyText(*r.element[1]);
    std::uint16_t port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (host.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port == 0) {
      return Errc::kStoreProtocol;
    }
    return Endpoint{std::string(host), port};
  }

  // Sends `command` about `key` to the server that holds the key, following
  // cluster redirections.
  Result<Reply> Call(std::string_view key, Command command, bool script, bool write) {
    ClearErrorDetail();  // a failure of this call notes its own reason
    Budget budget(options.command_timeout);
    if (!sentinels.empty()) return CallMaster(command, script, write, budget);
    if (!options.cluster) return CallNode(*single, command, false, script, write, budget);

    if (refresh_wanted.load(std::memory_order_relaxed) && refresh_wanted.exchange(false)) {
      (void)RefreshSlots();
    }
    const std::uint16_t slot = redis_detail::KeySlot(key);
    Node* node = slots[slot].load(std::memory_order_acquire);
    if (node == nullptr) {
      if (auto refreshed = RefreshSlots(); !refreshed) return refreshed.error();
      node = slots[slot].load(std::memory_order_acquire);
      if (node == nullptr) return Errc::kStoreUnavailable;  // no master serves the slot
    }
    bool asking = false;
    for (int redirects = 0;; ++redirects) {
      auto reply = CallNode(*node, command, asking, script, write, budget);
      if (!reply) {
        // The node may have failed over or left: learn the map again soon.
        refresh_wanted.store(true, std::memory_order_relaxed);
        return reply.error();
      }
      if ((*reply)->type != REDIS_REPLY_ERROR) return reply;
      auto redirect = redis_detail::ParseRedirect(redis_detail::ReplyText(**reply),
                                                  node->pool.endpoint());
      if (!redirect) return reply;
      node = NodeFor(redirect->to);
      asking = redirect->ask;
      if (!asking) slots[redirect->slot].store(node, std::memory_order_release);
      if (redirects >= options.max_redirects) return Errc::kStoreUnavailable;
    }
  }

  // KeyListing: SCAN ... MATCH on every node that holds keys: the server,
  // Sentinel's master (asked for again after a failure, as every call
  // does), or each master of the cluster's slot map.
  Result<void> ListKeys(std::string_view prefix, std::size_t page, const KeyListing::Visit& visit) {
    ClearErrorDetail();
    const std::string pattern = redis_detail::GlobEscape(options.key_prefix) + redis_detail::GlobEscape(prefix) + "*";
    const std::string count = std::to_string(page);
    std::vector<Node*> targets;  // nullptr: Sentinel's master
    if (!sentinels.empty()) {
      targets.push_back(nullptr);
    } else if (!options.cluster) {
      targets.push_back(single);
    } else {
      if (auto refreshed = RefreshSlots(); !refreshed) return refreshed.error();
      for (const auto& slot : slots) {
        Node* node = slot.load(std::memory_order_acquire);
        // A slot no master serves may hold keys no SCAN would reach.
        if (node == nullptr) return Errc::kStoreUnavailable;
        if (std::find(targets.begin(), targets.end(), node) == targets.end()) targets.push_back(node);
      }
    }
    for (Node* node : targets) {
      std::string cursor = "0";
      do {
        const std::array<std::string_view, 6> argv{"SCAN", cursor, "MATCH", pattern, "COUNT", count};
        Budget budget(options.command_timeout);
        auto reply = node != nullptr ? CallNode(*node, argv, false, false, false, budget)
                                     : CallMaster(argv, false, false, budget);
        if (!reply) return reply.error();
        auto scanned = redis_detail::ScanOutcome(**reply, options.key_prefix);
        if (!scanned) return scanned.error();
        cursor = std::move(scanned->cursor);
        if (scanned->keys.empty()) continue;
        if (auto visited = visit(scanned->keys); !visited) return visited;
      } while (cursor != "0");
    }
    return {};
  }

  // Reloads the slot map with CLUSTER SLOTS from the first node that answers.
  // Returns the previous outcome when a refresh finished very recently.
  Result<void> RefreshSlots() {
    std::lock_guard lock(refresh_mu);
    if (refreshed_at && SteadyClock::now() - *refreshed_at < kRefreshInterval) {
      return refresh_error;
    }
    std::vector<Node*> candidates;
    {
      std::lock_guard nodes_lock(nodes_mu);
      for (const auto& [name, node] : nodes) candidates.push_back(node.get());
    }
    static constexpr std::array<std::string_view, 2> kClusterSlotsCommand{"CLUSTER", "SLOTS"};
    Budget budget(options.command_timeout);
    std::error_code error = make_error_code(Errc::kStoreUnavailable);
    for (Node* candidate : candidates) {
      auto reply = CallNode(*candidate, kClusterSlotsCommand, false, false, false, budget);
      if (!reply) {
        error = reply.error();
        continue;
      }
      if ((*reply)->type == REDIS_REPLY_ERROR) {
        error = redis_detail::ErrorFromReply(**reply);
        continue;
      }
      auto ranges = redis_detail::ParseClusterSlots(**reply, candidate->pool.endpoint());
      if (!ranges || ranges->empty()) {
        error = ranges ? make_error_code(Errc::kStoreUnavailable) : ranges.error();
        continue;
      }
      std::vector<Node*> map(redis_detail::kClusterSlots, nullptr);
      for (const auto& range : *ranges) {
        Node* master = NodeFor(range.master);
        for (unsigned s = range.first; s <= range.last; ++s) map[s] = master;
      }
      for (std::size_t s = 0; s < map.size(); ++s) slots[s].store(map[s], std::memory_order_release);
      error.clear();
      break;
    }
    refreshed_at = SteadyClock::now();
    refresh_error = error;
    return error;
  }

  const RedisStoreOptions options;
  const redis_detail::PoolOptions pool_options;
  const std::string sha;
  const std::string wait_replicas;  // WAIT's arguments
  const std::string wait_millis;

  std::mutex nodes_mu;
  std::unordered_map<std::string, std::unique_ptr<Node>> nodes;  // by "host:port"
  Node* single = nullptr;                                         // without cluster

  // Sentinel: the sentinels, and the master they named last (a node of
  // `nodes`); discovery shares refresh_mu, refreshed_at and refresh_error.
  std::vector<std::unique_ptr<Node>> sentinels;
  std::atomic<Node*> master{nullptr};
  std::atomic<bool> rediscover{false};

  // Cluster: the master of every slot (nullptr: unknown), patched by MOVED.
  std::array<std::atomic<Node*>, redis_detail::kClusterSlots> slots{};
  std::atomic<bool> refresh_wanted{false};
  std::mutex refresh_mu;
  std::optional<SteadyClock::time_point> refreshed_at;  // guarded by refresh_mu
  std::error_code refresh_error;                        // guarded by refresh_mu
};

RedisStore::RedisStore(RedisStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RedisStore::~RedisStore() = default;

const RedisStoreOptions& RedisStore::options() const noexcept { return impl_->options; }

bool RedisStore::WaitsForReplicas() const noexcept { return impl_->options.wait_replicas > 0; }

Result<std::optional<Versioned>> RedisStore::Fetch(std::string_view key) {
  return FetchViaFetchInto(key);
}

Result<std::optional<Version>> RedisStore::FetchInto(std::string_view key, std::string& value) {
  const std::string full = impl_->FullKey(key);
  const std::array<std::string_view, 2> argv{"GET", full};
  auto reply = impl_->Call(full, argv, false, false);
  if (!reply) return reply.error();
  const redisReply& r = **reply;
  switch (r.type) {
    case REDIS_REPLY_NIL:
      return std::optional<Version>();
    case REDIS_REPLY_STRING: {
      if (r.len < redis_detail::kVersionBytes) return Errc::kStoreCorrupt;
      const std::string_view stored(r.str, r.len);
      value.assign(stored.substr(redis_detail::kVersionBytes));
      return std::optional<Version>(redis_detail::ReadVersion(stored));
    }
    case REDIS_REPLY_ERROR:
      return redis_detail::ErrorFromReply(r);
    default:
      return Errc::kStoreProtocol;
  }
}

Result<bool> RedisStore::CompareAndSwap(std::string_view key, std::optional<Version> expected,
                                        std::string_view value, std::chrono::milliseconds ttl) {
  if (ttl.count() < 1) return Errc::kInvalidArgument;
  const std::size_t limit = impl_->options.max_value_bytes;
  if (limit != 0 && value.size() > limit) return Errc::kValueTooLarge;

  std::string expected_bytes;
  if (expected) redis_detail::AppendVersion(*expected, expected_bytes);
  std::string stored;
  stored.reserve(redis_detail::kVersionBytes + value.size());
  redis_detail::AppendVersion(NewVersion(expected), stored);
  stored.append(value);
  const std::string ttl_ms = std::to_string(ttl.count());
  const std::string full = impl_->FullKey(key);
  if (!expected) {
    // "Only if absent" is a plain SET NX: a native command costs the server
    // less than a script (a first login is one GET and one SET).
    const std::array<std::string_view, 6> argv{"SET", full, stored, "PX", ttl_ms, "NX"};
    auto reply = impl_->Call(full, argv, false, true);
    if (!reply) return reply.error();
    const redisReply& r = **reply;
    if (r.type == REDIS_REPLY_NIL) return false;
    if (r.type == REDIS_REPLY_STATUS && redis_detail::ReplyText(r) == "OK") return true;
    if (r.type == REDIS_REPLY_ERROR) return redis_detail::ErrorFromReply(r);
    return Errc::kStoreProtocol;
  }
  const std::array<std::string_view, 7> argv{"EVALSHA", impl_->sha, "1", full,
                                             expected_bytes, stored, ttl_ms};
  auto reply = impl_->Call(full, argv, true, true);
  if (!reply) return reply.error();
  return redis_detail::ScriptOutcome(**reply);
}

Result<void> RedisStore::ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) {
  if (page == 0) return Errc::kInvalidArgument;
  return impl_->ListKeys(prefix, page, visit);
}

Result<void> RedisStore::Erase(std::string_view key) {
  const std::string full = impl_->FullKey(key);
  const std::array<std::string_view, 2> argv{"DEL", full};
  auto reply = impl_->Call(full, argv, false, true);
  if (!reply) return reply.error();
  if ((*reply)->type == REDIS_REPLY_INTEGER) return {};
  if ((*reply)->type == REDIS_REPLY_ERROR) return redis_detail::ErrorFromReply(**reply);
  return Errc::kStoreProtocol;
}

}  // namespace jeff
