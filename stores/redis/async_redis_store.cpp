#include <jeff/stores/redis/async_redis_store.hpp>

#include "compare_and_swap_script.hpp"
#include "detail/async_connection.hpp"
#include "detail/async_replies.hpp"
#include "tls.hpp"

#include <jeff/store_url.hpp>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include <array>
#include <iostream>
#include <random>
#include <stdexcept>
#include <utility>

namespace jeff {

using redis_detail::AsyncConnection;
using redis_detail::Command;
using redis_detail::Deadline;
using redis_detail::Replies;
using redis_detail::Reply;

namespace {

void Unsupported(bool used, const char* what) {
  if (used) {
    throw std::invalid_argument(std::string("AsyncRedisStore: ") + what +
                                " is not supported yet (use RedisStore)");
  }
}

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
  Unsupported(o.redis.cluster, "Redis Cluster (cluster)");
  Unsupported(!o.redis.sentinel_master.empty(), "Redis Sentinel (sentinel_master)");
  if (o.connections == 0) {
    throw std::invalid_argument("AsyncRedisStoreOptions: connections must be >= 1");
  }
  return o;
}

}  // namespace

struct AsyncRedisStore::Impl {
  Impl(AsyncRedisStoreOptions o, boost::asio::any_io_executor executor)
      : options(Validated(std::move(o))),
        sha(redis_detail::ScriptSha1(redis_detail::kCompareAndSwapScript)),
        wait_replicas(std::to_string(options.redis.wait_replicas)),
        wait_millis(std::to_string(options.redis.wait_timeout.count())) {
    const RedisStoreOptions& r = options.redis;
    auto connect = std::make_shared<redis_detail::AsyncConnectOptions>();
    connect->endpoint = {r.hosts.front().host, r.hosts.front().port};
    connect->connect_timeout = r.connect_timeout;
    connect->command_timeout = r.command_timeout;
    connect->keepalive = r.keepalive;
    connect->username = r.username;
    connect->password = r.password;
    connect->db = r.db;
    connect->backoff_min = r.reconnect_backoff_min;
    connect->backoff_max = r.reconnect_backoff_max;
    if (r.tls.enabled) {
      // RedisStore's TLS context (trust anchors, client certificate,
      // verification mode), shared with Asio's SSL streams.
      auto context = redis_detail::TlsContext::Make(r.tls, r.logger);
      SSL_CTX_up_ref(context->native());
      connect->tls = std::make_shared<boost::asio::ssl::context>(context->native());
      connect->tls_verify = context->verify();
      connect->tls_server_name = context->server_name();
    }
    for (std::size_t i = 0; i < options.connections; ++i) {
      connections.push_back(std::make_shared<AsyncConnection>(executor, connect));
    }
  }

  ~Impl() {
    for (auto& c : connections) c->Close();
  }

  std::string FullKey(std::string_view key) const {
    std::string full;
    full.reserve(options.redis.key_prefix.size() + key.size());
    full.append(options.redis.key_prefix).append(key);
    return full;
  }

  // Sends `command` (followed by WAIT when `write` and wait_replicas is
  // set) on the next connection in turn; `done` gets the command's reply
  // and the call's deadline.
  void Call(Command command, bool write, std::optional<Deadline> deadline,
            std::function<void(Result<Reply>, Deadline)> done) {
    AsyncConnection& connection = *connections[next];
    next = (next + 1) % connections.size();
    const bool waiting = write && options.redis.wait_replicas > 0;
    const std::array<std::string_view, 3> wait{"WAIT", wait_replicas, wait_millis};
    const std::array<Command, 2> commands{command, Command(wait)};
    connection.Submit(std::span(commands.data(), waiting ? 2 : 1), deadline,
                      [this, waiting, done = std::move(done)](Result<Replies> replies) {
                        if (!replies) return done(replies.error(), Deadline{});
                        Result<void> acked =
                            waiting ? redis_detail::WaitOutcome(*replies->reply[0], *replies->reply[1],
                                                                options.redis.wait_replicas)
                                    : Result<void>();
                        if (!acked) return done(acked.error(), replies->deadline);
                        done(std::move(replies->reply[0]), replies->deadline);
                      });
  }

  // The compare-and-swap script by its SHA-1, or (`eval`) in full after the
  // server answered NOSCRIPT; `stored` is the new version and value.
  void Script(std::string full, std::string expected, std::string stored, std::string ttl_ms,
              bool eval, std::optional<Deadline> deadline, SwapHandler done) {
    const std::string_view code = eval ? redis_detail::kCompareAndSwapScript : std::string_view(sha);
    const std::array<std::string_view, 7> argv{eval ? "EVAL" : "EVALSHA", code, "1", full,
                                               expected, stored, ttl_ms};
    Call(argv, true, deadline,
         [this, full, expected, stored, ttl_ms, eval, done = std::move(done)](
             Result<Reply> reply, Deadline at) mutable {
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
  const std::string sha;
  const std::string wait_replicas;  // WAIT's arguments
  const std::string wait_millis;
  std::vector<std::shared_ptr<AsyncConnection>> connections;
  std::size_t next = 0;  // the connection for the next call
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

void AsyncRedisStore::AsyncFetch(std::string_view key, FetchHandler done) {
  const std::string full = impl_->FullKey(key);
  const std::array<std::string_view, 2> argv{"GET", full};
  impl_->Call(argv, false, std::nullopt, [done = std::move(done)](Result<Reply> reply, Deadline) {
    if (!reply) return done(reply.error());
    done(redis_detail::FetchOutcome(**reply));
  });
}

void AsyncRedisStore::AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                                          std::string_view value, std::chrono::milliseconds ttl,
                                          SwapHandler done) {
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
    impl_->Call(argv, true, std::nullopt, [done = std::move(done)](Result<Reply> reply, Deadline) {
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
  impl_->Call(argv, true, std::nullopt, [done = std::move(done)](Result<Reply> reply, Deadline) {
    if (!reply) return done(reply.error());
    done(redis_detail::EraseOutcome(**reply));
  });
}

std::shared_ptr<AsyncStore> MakeAsyncRedisStore(const StoreUrl& url,
                                                boost::asio::any_io_executor executor) {
  Unsupported(url.scheme == "redis+cluster" || url.scheme == "rediss+cluster",
              "Redis Cluster (redis+cluster://)");
  Unsupported(url.scheme == "redis-sentinel" || url.scheme == "rediss-sentinel",
              "Redis Sentinel (redis-sentinel://)");
  // MakeRedisStore parses and checks the URL; its store is never used.
  const auto parsed = MakeRedisStore(url);
  AsyncRedisStoreOptions o;
  o.redis = dynamic_cast<const RedisStore&>(*parsed).options();
  if (url.Param("pool_size")) o.connections = o.redis.pool_size;
  return std::make_shared<AsyncRedisStore>(std::move(o), std::move(executor));
}

}  // namespace jeff
