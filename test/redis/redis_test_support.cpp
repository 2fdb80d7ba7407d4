#include "redis_test_support.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace jeff::test {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

std::string Describe(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a.substr(0, 40);
  return s;
}

// True when nothing is bound to 127.0.0.1:port right now.
bool PortFree(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

// A free port for a cluster node: its bus listens on port + 10000, so the
// port must be at most 55535 and port + 10000 free too.
std::uint16_t ClusterPort() {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const std::uint16_t port = FreePort();
    if (port <= 55535 && PortFree(static_cast<std::uint16_t>(port + 10000))) return port;
  }
  throw std::runtime_error("no free port pair for a Redis Cluster node");
}

}  // namespace

RawRedis::RawRedis(std::uint16_t port, std::string password) {
  timeval tv{5, 0};
  context_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (context_ == nullptr || context_->err != 0) {
    throw std::runtime_error("RawRedis: cannot connect to port " + std::to_string(port));
  }
  redisSetTimeout(context_, tv);
  if (!password.empty()) Text({"AUTH", password});
}

RawRedis::~RawRedis() { redisFree(context_); }

std::shared_ptr<redisReply> RawRedis::Raw(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (reply == nullptr) {
    throw std::runtime_error("RawRedis: I/O error on '" + Describe(argv) + "': " + context_->errstr);
  }
  last_was_error_ = reply->type == REDIS_REPLY_ERROR;
  return std::shared_ptr<redisReply>(reply, ReplyFree{});
}

std::string RawRedis::TextOrError(const std::vector<std::string>& argv) {
  auto r = Raw(argv);
  switch (r->type) {
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_ARRAY:
      throw std::runtime_error("RawRedis: array reply to '" + Describe(argv) + "'");
    default:
      return std::string(r->str, r->len);
  }
}

std::string RawRedis::Text(const std::vector<std::string>& argv) {
  const std::string text = TextOrError(argv);
  if (last_was_error_) {
    throw std::runtime_error("RawRedis: '" + Describe(argv) + "' failed: " + text);
  }
  return text;
}

long long RawRedis::Int(const std::vector<std::string>& argv) {
  auto r = Raw(argv);
  if (r->type != REDIS_REPLY_INTEGER) {
    throw std::runtime_error("RawRedis: '" + Describe(argv) + "' is not an integer reply");
  }
  return r->integer;
}

RedisStoreOptions LocalOptions(std::uint16_t port) {
  RedisStoreOptions o;
  o.hosts = {{"127.0.0.1", port}};
  // Generous: sanitizer builds on two cores are slow. Tests that measure
  // timeouts set their own.
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.command_timeout = std::chrono::milliseconds(5000);
  o.pool_timeout = std::chrono::milliseconds(5000);
  o.reconnect_backoff_min = std::chrono::milliseconds(20);
  o.reconnect_backoff_max = std::chrono::milliseconds(200);
  return o;
}

RedisCluster::RedisCluster(int nodes, int replicas, std::chrono::milliseconds node_timeout) {
  for (int i = 0; i < nodes * (1 + replicas); ++i) {
    nodes_.push_back(StartRedis({"--cluster-enabled", "yes", "--cluster-config-file",
                                 "{dir}/nodes.conf", "--cluster-node-timeout",
                                 std::to_string(node_timeout.count())},
                                ClusterPort()));
  }
  std::string command = "redis-cli --cluster create";
  for (const auto& n : nodes_) command += " " + n->address();
  command += " --cluster-replicas " + std::to_string(replicas) + " --cluster-yes > " + nodes_[0]->dir() + "/create.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(nodes_[0]->dir() + "/create.log");
    const std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    throw std::runtime_error("redis-cli --cluster create failed: " + output);
  }
  WaitConverged();
}

void RedisCluster::WaitConverged(std::uint16_t slot) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    bool ok = true;
    std::string owner;
    for (const auto& n : nodes_) {
      RawRedis raw(n->port());
      const std::string info = raw.Text({"CLUSTER", "INFO"});
      if (info.find("cluster_state:ok") == std::string::npos ||
          info.find("cluster_slots_ok:16384") == std::string::npos) {
        ok = false;
        break;
      }
      // Every node must name the same owner for `slot` (gossip has converged).
      auto slots = raw.Raw({"CLUSTER", "SLOTS"});
      std::string this_owner;
      for (std::size_t i = 0; i < slots->elements; ++i) {
        const redisReply* r = slots->element[i];
        if (r->element[0]->integer <= slot && slot <= r->element[1]->integer) {
          this_owner = std::to_string(r->element[2]->element[1]->integer);
        }
      }
      if (owner.empty()) owner = this_owner;
      if (this_owner.empty() || this_owner != owner) ok = false;
    }
    if (ok) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("Redis Cluster did not reach cluster_state:ok in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string RedisCluster::Url() const {
  std::string url = "redis+cluster://";
  for (std::size_t i = 0; i < nodes_.size(); ++i) url += (i ? "," : "") + nodes_[i]->address();
  return url;
}

RedisStoreOptions RedisCluster::Options() const {
  RedisStoreOptions o = LocalOptions(nodes_[0]->port());
  o.cluster = true;
  o.hosts.clear();
  for (const auto& n : nodes_) o.hosts.push_back({"127.0.0.1", n->port()});
  return o;
}

std::string RedisCluster::Id(std::size_t i) {
  return RawRedis(nodes_[i]->port()).Text({"CLUSTER", "MYID"});
}

std::size_t RedisCluster::OwnerOf(std::uint16_t slot) {
  RawRedis raw(nodes_[0]->port());
  auto slots = raw.Raw({"CLUSTER", "SLOTS"});
  for (std::size_t i = 0; i < slots->elements; ++i) {
    const redisReply* r = slots->element[i];
    if (r->element[0]->integer <= slot && slot <= r->element[1]->integer) {
      const auto port = static_cast<std::uint16_t>(r->element[2]->element[1]->integer);
      for (std::size_t n = 0; n < nodes_.size(); ++n) {
        if (nodes_[n]->port() == port) return n;
      }
    }
  }
  throw std::runtime_error("no owner for slot " + std::to_string(slot));
}

void RedisCluster::MigrateSlot(std::uint16_t slot, std::size_t from, std::size_t to) {
  BeginMigration(slot, from, to);
  MoveKeys(slot, from, to);
  FinishMigration(slot, from, to);
}

void RedisCluster::BeginMigration(std::uint16_t slot, std::size_t from, std::size_t to) {
  const std::string s = std::to_string(slot);
  RawRedis(nodes_[to]->port()).Text({"CLUSTER", "SETSLOT", s, "IMPORTING", Id(from)});
  RawRedis(nodes_[from]->port()).Text({"CLUSTER", "SETSLOT", s, "MIGRATING", Id(to)});
}

void RedisCluster::MoveKeys(std::uint16_t slot, std::size_t from, std::size_t to) {
  RawRedis source(nodes_[from]->port());
  for (;;) {
    auto keys = source.Raw({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"});
    if (keys->elements == 0) break;
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(nodes_[to]->port()),
                                        "", "0", "5000", "KEYS"};
    for (std::size_t i = 0; i < keys->elements; ++i) {
      migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    source.Text(migrate);
  }
}

void RedisCluster::FinishMigration(std::uint16_t slot, std::size_t from, std::size_t to) {
  const std::string s = std::to_string(slot);
  const std::string to_id = Id(to);
  RawRedis(nodes_[to]->port()).Text({"CLUSTER", "SETSLOT", s, "NODE", to_id});
  RawRedis(nodes_[from]->port()).Text({"CLUSTER", "SETSLOT", s, "NODE", to_id});
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (n == from || n == to) continue;
    RawRedis raw(nodes_[n]->port());
    // Replicas refuse SETSLOT; they follow their masters.
    if (raw.Text({"INFO", "replication"}).find("role:master") == std::string::npos) continue;
    raw.Text({"CLUSTER", "SETSLOT", s, "NODE", to_id});
  }
  WaitConverged(slot);
}

FakeServer::FakeServer(std::string reply, bool close_at_once)
    : reply_(std::move(reply)), close_at_once_(close_at_once) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("FakeServer: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeServer::~FakeServer() {
  stop_.store(true);
  thread_.join();
  ::close(listen_fd_);
}

void FakeServer::Serve() {
  std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
  char buffer[4096];
  while (!stop_.load()) {
    if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
    for (std::size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == listen_fd_) {
        const int client = ::accept(listen_fd_, nullptr, nullptr);
        if (client < 0) continue;
        if (close_at_once_) {
          ::close(client);
        } else {
          fds.push_back({client, POLLIN, 0});
        }
        continue;
      }
      const ssize_t n = ::recv(fds[i].fd, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (!reply_.empty()) {
        (void)::send(fds[i].fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      }
    }
  }
  for (std::size_t i = 1; i < fds.size(); ++i) ::close(fds[i].fd);
}

void RunOutage(ServerProcess& server, int threads, OutageDrill& drill,
               const std::function<void(int)>& worker, std::chrono::milliseconds up,
               std::chrono::milliseconds down, std::chrono::milliseconds after) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(worker, t);
  std::this_thread::sleep_for(up);
  drill.ok_before_kill = drill.ok.load();
  drill.phase.store(OutageDrill::kKilling);
  server.Kill();
  drill.phase.store(OutageDrill::kDown);
  std::this_thread::sleep_for(down);
  drill.failed_by_restart = drill.failed.load();
  drill.phase.store(OutageDrill::kRestarted);
  server.Restart();
  std::this_thread::sleep_for(after);
  drill.stop.store(true);
  for (auto& w : workers) w.join();
}

void CheckOutageCounts(const OutageDrill& drill) {
  MESSAGE("calls ok before the kill: " << drill.ok_before_kill << ", failed by the restart: "
                                       << drill.failed_by_restart
                                       << ", ok after the restart: " << drill.ok_after_restart.load());
  CHECK(drill.ok_before_kill > 100);
  CHECK(drill.failed_by_restart > 0);
  CHECK(drill.ok_after_restart.load() > 100);
}

}  // namespace jeff::test
