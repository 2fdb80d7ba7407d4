#pragma once
// Test support: a real cpp-httplib server on a free loopback port, for
// adapter tests over real HTTP. Header-only (only tests that link cpp-httplib
// include it).

#include <doctest/doctest.h>
#include <httplib.h>

#include <thread>

namespace jeff::test {

/// Register routes on `server`, then Start(); stopped and joined on destruction.
struct LoopbackServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  /// Binds 127.0.0.1 on a free port and serves from a thread; REQUIREs success.
  void Start() {
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::yield();
  }
  ~LoopbackServer() {
    server.stop();
    if (thread.joinable()) thread.join();
  }
};

}  // namespace jeff::test
