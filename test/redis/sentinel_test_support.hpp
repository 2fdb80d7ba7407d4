#pragma once
// Test support for Redis Sentinel: a master, its replicas and three
// sentinels, all real redis-server processes on loopback ports.

#include "support/server_process.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace jeff::test {

/// A master with `replicas` replicas (all `requirepass data_password`) and
/// three sentinels (`requirepass sentinel_password`) monitoring it as
/// "mymaster" with quorum 2, down-after-milliseconds 1000 and
/// failover-timeout 3000. The constructor returns once every replica is in
/// sync and every sentinel knows the replicas and the other sentinels;
/// throws (never skips) when that takes more than 30 s.
class SentinelGroup {
 public:
  static constexpr const char* kMaster = "mymaster";
  static constexpr const char* kDataPassword = "data-pw";
  static constexpr const char* kSentinelPassword = "sentinel-pw";

  explicit SentinelGroup(int replicas = 2);
  ~SentinelGroup();

  /// The data nodes; [0] is the initial master.
  std::vector<std::unique_ptr<ServerProcess>>& nodes() { return nodes_; }
  std::vector<std::unique_ptr<ServerProcess>>& sentinels() { return sentinels_; }
  /// `redis-sentinel://:<data pw>@s1,s2,s3/mymaster?sentinel_password=...`
  /// followed by `&<query>` when `query` is not empty.
  std::string Url(const std::string& query = "") const;
  /// The master's port according to the first sentinel that answers.
  std::uint16_t MasterPort();

 private:
  void WaitReady();
  std::string conf_dir_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
  std::vector<std::unique_ptr<ServerProcess>> sentinels_;
};

}  // namespace jeff::test
