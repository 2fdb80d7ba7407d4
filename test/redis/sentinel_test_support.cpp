#include "sentinel_test_support.hpp"

#include "redis_test_support.hpp"

#include <hiredis/hiredis.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace jeff::test {
namespace {

// The value of `field` in a flat [name, value, ...] array reply.
std::string Field(const redisReply& r, const std::string& field) {
  for (std::size_t i = 0; i + 1 < r.elements; i += 2) {
    if (std::string(r.element[i]->str, r.element[i]->len) == field) {
      return std::string(r.element[i + 1]->str, r.element[i + 1]->len);
    }
  }
  return "";
}

}  // namespace

SentinelGroup::SentinelGroup(int replicas) {
  std::string templ = (std::filesystem::temp_directory_path() / "jeff-sentinel-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  conf_dir_ = templ;

  const std::vector<std::string> auth = {"--requirepass", kDataPassword, "--masterauth",
                                         kDataPassword};
  nodes_.push_back(StartRedis(auth));
  const std::string master_port = std::to_string(nodes_[0]->port());
  for (int i = 0; i < replicas; ++i) {
    std::vector<std::string> args = auth;
    args.insert(args.end(), {"--replicaof", "127.0.0.1", master_port});
    nodes_.push_back(StartRedis(args));
  }
  for (int i = 0; i < 3; ++i) {
    // A sentinel rewrites its configuration file: one each, outside {dir}.
    const std::string conf = conf_dir_ + "/sentinel" + std::to_string(i) + ".conf";
    std::ofstream out(conf);
    out << "sentinel monitor " << kMaster << " 127.0.0.1 " << master_port << " 2\n"
        << "sentinel auth-pass " << kMaster << " " << kDataPassword << "\n"
        << "sentinel down-after-milliseconds " << kMaster << " 1000\n"
        << "sentinel failover-timeout " << kMaster << " 3000\n"
        << "sentinel parallel-syncs " << kMaster << " 2\n"
        << "requirepass " << kSentinelPassword << "\n"
        << "sentinel sentinel-pass " << kSentinelPassword << "\n";
    out.close();
    sentinels_.push_back(std::make_unique<ServerProcess>(
        "sentinel", std::vector<std::string>{"redis-server", conf, "--sentinel", "--port", "{port}",
                                             "--bind", "127.0.0.1", "--dir", "{dir}",
                                             "--daemonize", "no", "--protected-mode", "no"}));
  }
  WaitReady();
}

SentinelGroup::~SentinelGroup() {
  sentinels_.clear();
  nodes_.clear();
  std::error_code ignored;
  std::filesystem::remove_all(conf_dir_, ignored);
}

void SentinelGroup::WaitReady() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const std::string replicas = std::to_string(nodes_.size() - 1);
  for (;;) {
    bool ready = true;
    for (std::size_t i = 1; i < nodes_.size() && ready; ++i) {
      const std::string info = RawRedis(nodes_[i]->port(), kDataPassword).Text({"INFO", "replication"});
      ready = info.find("master_link_status:up") != std::string::npos;
    }
    for (const auto& s : sentinels_) {
      if (!ready) break;
      auto r = RawRedis(s->port(), kSentinelPassword).Raw({"SENTINEL", "MASTER", kMaster});
      ready = r->type == REDIS_REPLY_ARRAY && Field(*r, "num-slaves") == replicas &&
              Field(*r, "num-other-sentinels") == "2";
    }
    if (ready) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("sentinels did not see the replicas and each other in 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string SentinelGroup::Url(const std::string& query) const {
  std::string url = std::string("redis-sentinel://:") + kDataPassword + "@";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) url += (i ? "," : "") + sentinels_[i]->address();
  url += std::string("/") + kMaster + "?sentinel_password=" + kSentinelPassword;
  if (!query.empty()) url += "&" + query;
  return url;
}

std::uint16_t SentinelGroup::MasterPort() {
  for (const auto& s : sentinels_) {
    try {
      auto r = RawRedis(s->port(), kSentinelPassword)
                   .Raw({"SENTINEL", "get-master-addr-by-name", kMaster});
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        return static_cast<std::uint16_t>(std::stoi(std::string(r->element[1]->str, r->element[1]->len)));
      }
    } catch (const std::runtime_error&) {
      // this sentinel is down: ask the next
    }
  }
  throw std::runtime_error("no sentinel names the master");
}

}  // namespace jeff::test
