#pragma once
// Test support: real server processes (redis-server, memcached) started on
// free loopback ports in a temporary folder and stopped by PID.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jeff::test {

/// A child process that serves TCP on 127.0.0.1:port(). Its argv may use the
/// placeholders {port} and {dir}. Throws std::runtime_error (never skips)
/// when the program is missing or does not accept connections in time.
class ServerProcess {
 public:
  ServerProcess(std::string name, std::vector<std::string> argv, std::uint16_t port = 0,
                std::chrono::milliseconds startup_timeout = std::chrono::seconds(15));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// SIGKILL to the process group and every descendant (also those that
  /// made their own session, like PostgreSQL backends), and reap.
  void Kill();
  /// Start again on the same port (after Kill).
  void Restart();
  /// SIGSTOP / SIGCONT to the process group and every descendant: a server
  /// that accepts nothing and answers nothing.
  void Pause();
  void Resume();

 private:
  void Spawn();
  std::string name_;
  std::vector<std::string> argv_;
  std::uint16_t port_;
  std::chrono::milliseconds startup_timeout_;
  std::string dir_;
  pid_t pid_ = -1;
};

/// A free TCP port on 127.0.0.1 (bound and released; racy but adequate).
std::uint16_t FreePort();

/// True when something accepts TCP connections on 127.0.0.1:port.
bool PortAccepts(std::uint16_t port);

/// redis-server on a free port: no persistence, loopback only.
std::unique_ptr<ServerProcess> StartRedis(std::vector<std::string> extra_args = {},
                                          std::uint16_t port = 0);

/// memcached on a free port (as `nobody` when run as root).
std::unique_ptr<ServerProcess> StartMemcached(std::vector<std::string> extra_args = {},
                                              std::uint16_t port = 0);

/// PostgreSQL on a free port: a fresh cluster (initdb, user `jeff`, trust
/// authentication on loopback) in the process's folder, run as `nobody` when
/// run as root. Its port accepts before the server is ready: wait with
/// PQping before use. SIGSTOP/SIGKILL reach the backends too (the group).
std::unique_ptr<ServerProcess> StartPostgres(std::uint16_t port = 0);

/// PostgreSQL on a free port as a streaming-replication standby of the
/// server (from StartPostgres) on `primary_port`: a base backup of it
/// (pg_basebackup -R) in the process's folder, then hot standby. Promote it
/// with SELECT pg_promote(). Its port accepts before it is ready.
std::unique_ptr<ServerProcess> StartPostgresStandby(std::uint16_t primary_port, std::uint16_t port = 0);

}  // namespace jeff::test
