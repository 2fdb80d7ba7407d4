#include <jeff/stores/redis/async_redis_store.hpp>

#include "cluster_slots.hpp"
#include "compare_and_swap_script.hpp"
#include "detail/async_connection.hpp"
#include "replies.hpp"
#include "tls.hpp"

#include <jeff/error.hpp>
#include <jeff/store_url.hpp>

#include <boost/asio/ssl/context.hpp>
#include <hiredis/hiredis.h>
#include <openssl/ssl.h>

#include <array>
#include <iostream>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace jeff {

using redis_detail::AsyncConnection;
using redis_detail::Command;
using redis_detail::Deadline;
using redis_detail::Endpoint;
using redis_detail::Replies;
using redis_detail::Reply;
using redis_detail::SteadyClock;

namespace {

// A failed slot-map refresh is not repeated sooner than this (RedisStore's
// interval), so that a dead node does not make every call probe the cluster.
constexpr std::chrono::milliseconds kRefreshInterval{100};

AsyncRedisStoreOptions Validated(AsyncRedisStoreOptions o) {
  // RedisStore's checks and defaults, applied by the constructor of a store
  // that is never used (it does not connect). Its TLS warning is silenced:
  // the store's own TLS context warns once.
  auto logger = std::move(o.redis.logger);
  o.redis.logger = [](std::string_view) {};
  o.redis = RedisStore(std::move(o.redis)).options();
  if (logger) {
    o.redis.logger = std::move(logger);
  } else {
    o.redis.logger = [](std::string_view line) { std::cerr << line << std::endl; };
  }
  if (o.connections == 0) {
    throw std::invalid_argument("AsyncRedisStoreOptions: connections must be >= 1");
  }
  return o;
}

}  // namespace

struct AsyncRedisStore::Impl {
  // Receives a command's reply (or why there is none) and the call's deadline.
  using ReplyHandler = std::function<void(Result<Reply>, Deadline)>;

  // One server and the connections to it.
  struct Node {
    Endpoint endpoint;
    std::vector<std::shared_ptr<AsyncConnection>> connections;
    std::size_t next = 0;  // the connection for the next call
    AsyncConnection& Pick() {
      AsyncConnection& c = *connections[next];
      next = (next + 1) % connections.size();
      return c;
    }
  };

  // A cluster or Sentinel call: its own copy of the command (it outlives
  // the caller's arguments while the slot map or the master is looked up,
  // or a redirection is followed).
  struct Routed {
    std::vector<std::string> args;
    std::uint16_t slot = 0;
    bool write = false;
    std::optional<Deadline> deadline;
    ReplyHandler done;
    Node* node = nullptr;  // set by a redirection
    bool asking = false;   // ASK: send ASKING first
    int redirects = 0;
  };

  Impl(AsyncRedisStoreOptions o, boost::asio::any_io_executor ex)
      : options(Validated(std::move(o))),
        executor(std::move(ex)),
        sha(redis_detail::ScriptSha1(redis_detail::kCompareAndSwapScript)),
        wait_replicas(std::to_string(options.redis.wait_replicas)),
        wait_millis(std::to_string(options.redis.wait_timeout.count())) {
    const RedisStoreOptions& r = options.redis;
    auto& c = connect;
    c.connect_timeout = r.connect_timeout;
    c.command_timeout = r.command_timeout;
    c.keepalive = r.keepalive;
    c.username = r.username;
    c.password = r.password;
    c.db = r.db;
    c.backoff_min = r.reconnect_backoff_min;
    c.backoff_max = r.reconnect_backoff_max;
    if (r.tls.enabled) {
      // RedisStore's TLS context (trust anchors, client certificate,
      // verification mode), shared with Asio's SSL streams.
      auto context = redis_detail::TlsContext::Make(r.tls, r.logger);
      SSL_CTX_up_ref(context->native());
      c.tls = std::make_shared<boost::asio::ssl::context>(context->native());
      c.tls_verify = context->verify();
      c.tls_server_name = context->server_name();
    }
    redis_detail::AsyncConnectOptions sentinel_connect = connect;
    sentinel_connect.username = r.sentinel_username;
    sentinel_connect.password = r.sentinel_password;
    sentinel_connect.db = 0;
    for (const auto& h : r.hosts) {
      if (!r.sentinel_master.empty()) {
        sentinels.push_back(MakeNode(Endpoint{h.host, h.port}, sentinel_connect));
        continue;
      }
      Node* node = NodeFor(Endpoint{h.host, h.port});
      if (!r.cluster) single = node;
    }
  }

  ~Impl() {
    for (auto& [name, node] : nodes) {
      for (auto& c : node->connections) c->Close();
    }
    for (auto& node : sentinels) {
      for (auto& c : node->connections) c->Close();
    }
  }

  std::unique_ptr<Node> MakeNode(const Endpoint& endpoint,
                                 const redis_detail::AsyncConnectOptions& how) {
    auto node = std::make_unique<Node>();
    node->endpoint = endpoint;
    auto node_options = std::make_shared<redis_detail::AsyncConnectOptions>(how);
    node_options->endpoint = endpoint;
    for (std::size_t i = 0; i < options.connections; ++i) {
      node->connections.push_back(std::make_shared<AsyncConnection>(executor, node_options));
    }
    return node;
  }

  // The data node at `endpoint`, made on first sight; nodes live as long as
  // the store.
  Node* NodeFor(const Endpoint& endpoint) {
    auto& node = nodes[endpoint.ToString()];
    if (!node) node = MakeNode(endpoint, connect);
    return node.get();
  }

  std::string FullKey(std::string_view key) const {
    std::string full;
    full.reserve(options.redis.key_prefix.size() + key.size());
    full.append(options.redis.key_prefix).append(key);
    return full;
  }

  // Sends `command` about `key` to the server that holds it (following
  // cluster redirections); `done` gets the command's reply and the call's
  // deadline.
  void Call(std::string_view key, Command command, bool write, std::optional<Deadline> deadline,
            ReplyHandler done) {
    if (single != nullptr)
      return CallNode(*single, command, false, write, deadline, std::move(done));
    if (!sentinels.empty()) {
      auto call = std::make_shared<Routed>();
      call->args.assign(command.begin(), command.end());
      call->write = write;
      call->deadline = deadline;
      call->done = std::move(done);
      return CallMaster(std::move(call));
    }
    auto routed = std::make_shared<Routed>();
    routed->args.assign(command.begin(), command.end());
    routed->slot = redis_detail::KeySlot(key);
    routed->write = write;
    routed->deadline = deadline;
    routed->done = std::move(done);
    Route(std::move(routed));
  }

  // Sends `command` to `node` (after ASKING when `asking`; followed by WAIT
  // when `write` and wait_replicas is set) on its next connection.
  void CallNode(Node& node, Command command, bool asking, bool write,
                std::optional<Deadline> deadline, ReplyHandler done) {
    static constexpr std::array<std::string_view, 1> kAsking{"ASKING"};
    const bool waiting = write && options.redis.wait_replicas > 0;
    const std::array<std::string_view, 3> wait{"WAIT", wait_replicas, wait_millis};
    std::array<Command, Replies::kMax> commands;
    std::size_t n = 0;
    if (asking) commands[n++] = kAsking;
    commands[n++] = command;
    if (waiting) commands[n++] = wait;
    node.Pick().Submit(std::span(commands.data(), n), deadline,
                       [this, asking, waiting, done = std::move(done)](Result<Replies> replies) {
                         if (!replies) return done(replies.error(), Deadline{});
                         const std::size_t main = asking ? 1 : 0;
                         if (asking && !redis_detail::IsOk(*replies->reply[0])) {
                           return done(Errc::kStoreProtocol, replies->deadline);
                         }
                         Result<void> acked =
                             waiting ? redis_detail::WaitOutcome(*replies->reply[main],
                                                                 *replies->reply[main + 1],
                                                                 options.redis.wait_replicas)
                                     : Result<void>();
                         if (!acked) return done(acked.error(), replies->deadline);
                         done(std::move(replies->reply[main]), replies->deadline);
                       });
  }

  // Cluster: sends a call to the master of its slot (or the node a
  // redirection named), loading the slot map first when it is unknown.
  void Route(std::shared_ptr<Routed> call) {
    if (refresh_wanted && !refreshing) Refresh(nullptr);
    Node* node = call->node != nullptr ? call->node : slots[call->slot];
    if (node == nullptr) {
      Refresh([this, call](std::error_code error) {
        if (error) return call->done(error, Deadline{});
        if (slots[call->slot] == nullptr) return call->done(Errc::kStoreUnavailable, Deadline{});
        Route(call);
      });
      return;
    }
    const std::vector<std::string_view> argv(call->args.begin(), call->args.end());
    CallNode(*node, argv, call->asking, call->write, call->deadline,
             [this, call, node](Result<Reply> reply, Deadline at) {
               if (!reply) {
                 // The node may have failed over or left: learn the map again soon.
                 refresh_wanted = true;
                 return call->done(reply.error(), at);
               }
               std::optional<redis_detail::Redirect> redirect;
               if ((*reply)->type == REDIS_REPLY_ERROR) {
                 redirect =
                     redis_detail::ParseRedirect(redis_detail::ReplyText(**reply), node->endpoint);
               }
               if (!redirect) return call->done(std::move(reply), at);
               if (call->redirects >= options.redis.max_redirects) {
                 return call->done(Errc::kStoreUnavailable, at);
               }
               ++call->redirects;
               call->node = NodeFor(redirect->to);
               call->asking = redirect->ask;
               if (!redirect->ask) slots[redirect->slot] = call->node;
               call->deadline = at;  // one budget for all round trips
               Route(call);
             });
  }

  // Sentinel: sends a call to the current master, found (again) first when
  // unknown or after a failure.
  void CallMaster(std::shared_ptr<Routed> call) {
    if (master == nullptr || rediscover) {
      Refresh([this, call](std::error_code error) {
        if (error) return call->done(error, Deadline{});
        if (master == nullptr) return call->done(Errc::kStoreUnavailable, Deadline{});
        SendToMaster(call);
      });
      return;
    }
    SendToMaster(std::move(call));
  }

  void SendToMaster(std::shared_ptr<Routed> call) {
    const std::vector<std::string_view> argv(call->args.begin(), call->args.end());
    CallNode(*master, argv, false, call->write, call->deadline,
             [this, call](Result<Reply> reply, Deadline at) {
               // A dead or unreachable master, or one demoted to a replica:
               // ask the sentinels again (this call still fails).
               if (!reply || redis_detail::IsErrorReply(**reply, "READONLY")) rediscover = true;
               call->done(std::move(reply), at);
             });
  }

  // Sentinel: asks sentinel `i` (and the next ones while they fail) for the
  // master, and keeps the first answer that the named server confirms with
  // ROLE.
  void TryDiscover(std::size_t i, std::error_code error) {
    if (i == sentinels.size()) return FinishRefresh(error, true);
    const std::array<std::string_view, 3> ask{"SENTINEL", "get-master-addr-by-name",
                                              options.redis.sentinel_master};
    CallNode(*sentinels[i], ask, false, false, std::nullopt,
             [this, i](Result<Reply> reply, Deadline) {
               if (!reply) return TryDiscover(i + 1, reply.error());
               auto endpoint = redis_detail::MasterAddress(**reply);
               if (!endpoint) return TryDiscover(i + 1, endpoint.error());
               Node* node = NodeFor(*endpoint);
               static constexpr std::array<std::string_view, 1> kRole{"ROLE"};
               CallNode(*node, kRole, false, false, std::nullopt,
                        [this, i, node](Result<Reply> role, Deadline) {
                          if (!role) return TryDiscover(i + 1, role.error());
                          if (redis_detail::IsMasterRole(**role)) {
                            master = node;
                            rediscover = false;
                            return FinishRefresh({}, true);
                          }
                          // This sentinel's view is stale (a failover is under way).
                          TryDiscover(i + 1, (*role)->type == REDIS_REPLY_ERROR
                                                 ? redis_detail::ErrorFromReply(**role)
                                                 : make_error_code(Errc::kStoreUnavailable));
                        });
             });
  }

  // Reloads the slot map with CLUSTER SLOTS from the first node that
  // answers (Sentinel: finds the master), then calls `then` (if any) with
  // the outcome; calls waiting for
  // a refresh under way wait for it. Within kRefreshInterval of the last
  // refresh, `then` gets its outcome at once.
  void Refresh(std::function<void(std::error_code)> then) {
    if (then) refresh_waiting.push_back(std::move(then));
    if (refreshing) return;
    if (refreshed_at && SteadyClock::now() - *refreshed_at < kRefreshInterval) {
      return FinishRefresh(refresh_error, false);
    }
    refreshing = true;
    if (!sentinels.empty()) return TryDiscover(0, make_error_code(Errc::kStoreUnavailable));
    auto candidates = std::make_shared<std::vector<Node*>>();
    for (auto& [name, node] : nodes) candidates->push_back(node.get());
    TryRefresh(std::move(candidates), 0, make_error_code(Errc::kStoreUnavailable));
  }

  void TryRefresh(std::shared_ptr<std::vector<Node*>> candidates, std::size_t i,
                  std::error_code error) {
    if (i == candidates->size()) return FinishRefresh(error, true);
    static constexpr std::array<std::string_view, 2> kClusterSlots{"CLUSTER", "SLOTS"};
    Node* node = (*candidates)[i];
    CallNode(*node, kClusterSlots, false, false, std::nullopt,
             [this, candidates, i, node](Result<Reply> reply, Deadline) {
               if (!reply) return TryRefresh(candidates, i + 1, reply.error());
               if ((*reply)->type == REDIS_REPLY_ERROR) {
                 return TryRefresh(candidates, i + 1, redis_detail::ErrorFromReply(**reply));
               }
               auto ranges = redis_detail::ParseClusterSlots(**reply, node->endpoint);
               if (!ranges || ranges->empty()) {
                 return TryRefresh(
                     candidates, i + 1,
                     ranges ? make_error_code(Errc::kStoreUnavailable) : ranges.error());
               }
               slots.fill(nullptr);
               for (const auto& range : *ranges) {
                 Node* master = NodeFor(range.master);
                 for (unsigned s = range.first; s <= range.last; ++s) slots[s] = master;
               }
               FinishRefresh({}, true);
             });
  }

  void FinishRefresh(std::error_code error, bool refreshed) {
    if (refreshed) {
      refreshing = false;
      refreshed_at = SteadyClock::now();
      refresh_error = error;
      refresh_detail = error ? ErrorDetail(error) : std::string();
      if (!error) refresh_wanted = false;
    }
    // A handler may destroy the store: the rest are then dropped.
    std::weak_ptr<void> guard = alive;
    auto waiting = std::move(refresh_waiting);
    refresh_waiting.clear();
    for (auto& then : waiting) {
      if (guard.expired()) return;
      // The failure's reason, for each waiting call (and again for calls
      // that get a recent failure without asking).
      if (refresh_detail.empty()) {
        ClearErrorDetail();
      } else {
        NoteError(error, refresh_detail);
      }
      then(error);
    }
  }

  // The compare-and-swap script by its SHA-1, or (`eval`) in full after the
  // server answered NOSCRIPT; `stored` is the new version and value.
  void Script(std::string full, std::string expected, std::string stored, std::string ttl_ms,
              bool eval, std::optional<Deadline> deadline, SwapHandler done) {
    const std::string_view code =
        eval ? redis_detail::kCompareAndSwapScript : std::string_view(sha);
    const std::array<std::string_view, 7> argv{
        eval ? "EVAL" : "EVALSHA", code, "1", full, expected, stored, ttl_ms};
    Call(full, argv, true, deadline,
         [this, full, expected, stored, ttl_ms, eval, done = std::move(done)](Result<Reply> reply,
                                                                              Deadline at) mutable {
           if (!reply) return done(reply.error());
           if (!eval && redis_detail::IsErrorReply(**reply, "NOSCRIPT")) {
             // EVAL runs the script and caches it for the EVALSHAs after.
             return Script(std::move(full), std::move(expected), std::move(stored),
                           std::move(ttl_ms), true, at, std::move(done));
           }
           done(redis_detail::ScriptOutcome(**reply));
         });
  }

  Version NewVersion(std::optional<Version> expected) {
    Version v;
    do {
      v = rng();
    } while (v == 0 || (expected && v == *expected));
    return v;
  }

  const AsyncRedisStoreOptions options;
  const boost::asio::any_io_executor executor;
  const std::string sha;
  const std::string wait_replicas;  // WAIT's arguments
  const std::string wait_millis;
  redis_detail::AsyncConnectOptions connect;  // for every node, with its endpoint
  std::unordered_map<std::string, std::unique_ptr<Node>> nodes;  // by "host:port"
  Node* single = nullptr;                                        // without cluster
  // Cluster: the master of every slot (nullptr: unknown), patched by MOVED.
  std::array<Node*, redis_detail::kClusterSlots> slots{};
  // Sentinel: the sentinels, and the master they named last (a node of
  // `nodes`); discovery shares the refresh state below.
  std::vector<std::unique_ptr<Node>> sentinels;
  Node* master = nullptr;
  bool rediscover = false;
  bool refresh_wanted = false;
  bool refreshing = false;
  std::vector<std::function<void(std::error_code)>> refresh_waiting;
  std::optional<SteadyClock::time_point> refreshed_at;
  std::error_code refresh_error;
  std::string refresh_detail;  // refresh_error's reason (ErrorDetail), if noted
  const std::shared_ptr<int> alive = std::make_shared<int>(0);  // expires with the store
  // Versions are random rather than counted, as RedisStore's: a key erased
  // and added again never repeats a version an old reader may hold.
  std::mt19937_64 rng{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
};

AsyncRedisStore::AsyncRedisStore(AsyncRedisStoreOptions options,
                                 boost::asio::any_io_executor executor)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(executor))) {}

AsyncRedisStore::~AsyncRedisStore() = default;

const AsyncRedisStoreOptions& AsyncRedisStore::options() const noexcept { return impl_->options; }

bool AsyncRedisStore::WaitsForReplicas() const noexcept { return impl_->options.redis.wait_replicas > 0; }

void AsyncRedisStore::AsyncFetch(std::string_view key, FetchHandler done) {
  const std::string full = impl_->FullKey(key);
  const std::array<std::string_view, 2> argv{"GET", full};
  impl_->Call(full, argv, false, std::nullopt,
              [done = std::move(done)](Result<Reply> reply, Deadline) {
                if (!reply) return done(reply.error());
                done(redis_detail::FetchOutcome(**reply));
              });
}

void AsyncRedisStore::AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                                          std::string_view value, std::chrono::milliseconds ttl,
                                          SwapHandler done) {
  ClearErrorDetail();  // the failures below have no reason but their code
  if (ttl.count() < 1) return done(Errc::kInvalidArgument);
  const std::size_t limit = impl_->options.redis.max_value_bytes;
  if (limit != 0 && value.size() > limit) return done(Errc::kValueTooLarge);

  std::string stored;
  stored.reserve(redis_detail::kVersionBytes + value.size());
  redis_detail::AppendVersion(impl_->NewVersion(expected), stored);
  stored.append(value);
  std::string ttl_ms = std::to_string(ttl.count());
  std::string full = impl_->FullKey(key);
  if (!expected) {
    // "Only if absent" is a plain SET NX, as RedisStore sends it.
    const std::array<std::string_view, 6> argv{"SET", full, stored, "PX", ttl_ms, "NX"};
    impl_->Call(full, argv, true, std::nullopt,
                [done = std::move(done)](Result<Reply> reply, Deadline) {
                  if (!reply) return done(reply.error());
                  done(redis_detail::SetIfAbsentOutcome(**reply));
                });
    return;
  }
  std::string expected_bytes;
  redis_detail::AppendVersion(*expected, expected_bytes);
  impl_->Script(std::move(full), std::move(expected_bytes), std::move(stored), std::move(ttl_ms),
                false, std::nullopt, std::move(done));
}

void AsyncRedisStore::AsyncErase(std::string_view key, EraseHandler done) {
  const std::string full = impl_->FullKey(key);
  const std::array<std::string_view, 2> argv{"DEL", full};
  impl_->Call(full, argv, true, std::nullopt,
              [done = std::move(done)](Result<Reply> reply, Deadline) {
                if (!reply) return done(reply.error());
                done(redis_detail::EraseOutcome(**reply));
              });
}

std::shared_ptr<AsyncStore> MakeAsyncRedisStore(const StoreUrl& url,
                                                boost::asio::any_io_executor executor) {
  // MakeRedisStore parses and checks the URL; its store is never used.
  const auto parsed = MakeRedisStore(url);
  AsyncRedisStoreOptions o;
  o.redis = dynamic_cast<const RedisStore&>(*parsed).options();
  if (url.Param("pool_size")) o.connections = o.redis.pool_size;
  return std::make_shared<AsyncRedisStore>(std::move(o), std::move(executor));
}

}  // namespace jeff
