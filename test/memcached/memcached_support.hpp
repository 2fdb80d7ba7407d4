#pragma once
// Test support for the memcached store: stores on test servers, and a raw
// text-protocol client to see what the servers themselves hold.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jeff/stores/memcached/memcached_store.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.hpp"

namespace jeff::test {

/// Options for a store on `servers`: a short retry timeout, so that a
/// restarted server is used again soon, and timeouts generous enough for a
/// loaded machine under a sanitizer (the tests of timeouts set their own).
inline MemcachedStoreOptions TestOptions(const std::vector<const ServerProcess*>& servers) {
  MemcachedStoreOptions o;
  for (const ServerProcess* s : servers) o.servers.push_back({"127.0.0.1", s->port()});
  o.connect_timeout = std::chrono::seconds(2);
  o.io_timeout = std::chrono::seconds(2);
  o.retry_timeout = std::chrono::seconds(1);
  return o;
}

/// Server `i` (0 or 1) of a pair started on first use and kept for the
/// whole test program: doctest re-enters a TEST_CASE once per subcase, and
/// tests that only add uniquely named keys need no fresh servers.
inline const ServerProcess& SharedServer(int i) {
  static const std::unique_ptr<ServerProcess> servers[] = {StartMemcached(), StartMemcached()};
  return *servers[i];
}

/// Sends `command` to the memcached on 127.0.0.1:`port` over a fresh
/// connection and returns the reply up to and including `terminator`.
/// Throws std::runtime_error on failure (5 s timeout).
inline std::string RawCommand(std::uint16_t port, const std::string& command,
                              const std::string& terminator = "END\r\n") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::send(fd, command.data(), command.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(command.size());
  while (ok &&
         (reply.size() < terminator.size() ||
          reply.compare(reply.size() - terminator.size(), terminator.size(), terminator) != 0)) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      ok = false;
    else
      reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!ok) throw std::runtime_error("raw memcached command failed on port " + std::to_string(port));
  return reply;
}

/// The server's own `stats` value `name` (e.g. curr_items).
inline std::int64_t ServerStat(std::uint16_t port, const std::string& name) {
  const std::string reply = RawCommand(port, "stats\r\n");
  const std::string tag = "STAT " + name + " ";
  const std::size_t at = reply.find(tag);
  if (at == std::string::npos) throw std::runtime_error("no stat " + name);
  return std::stoll(reply.substr(at + tag.size()));
}

/// True when the server on `port` holds `key` (read with its own `get`).
inline bool ServerHolds(std::uint16_t port, const std::string& key) {
  return RawCommand(port, "get " + key + "\r\n").rfind("VALUE ", 0) == 0;
}

/// Stops `server` (SIGSTOP) and waits until the kernel shows it stopped:
/// kill() returns before every thread has stopped, and a worker thread
/// could still answer one more request.
inline void PauseAndWait(ServerProcess& server) {
  server.Pause();
  const std::string stat = "/proc/" + std::to_string(server.pid()) + "/stat";
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(stat);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t close = text.rfind(')');
    if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'T') {
      // Also wait out a request a thread may have had in hand.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("server did not stop");
}

}  // namespace jeff::test
