// One small program built three ways against an installed jeff (pkg-config,
// a meson subproject, CMake find_package): it compiles with the installed
// headers alone, links the core and two store libraries, and runs against
// them. Exit status 0 when every check passed.
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>
#include <jeff/stores/redis/redis_store.hpp>
#include <jeff/version.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

int failures = 0;

void Expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

// A loopback port that refuses connections while this object lives: the
// socket is bound, so no other process can take the port, and never listens.
class RefusingPort {
 public:
  RefusingPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot bind a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

}  // namespace

int main() {
  std::printf("jeff %s (headers %s)\n", std::string(jeff::LibraryVersion()).c_str(),
              JEFF_VERSION_STRING);
  Expect(jeff::LibraryVersion() == JEFF_VERSION_STRING, "the library matches its headers");

  // jeff-memory: log in, then check the cookie the browser would send back.
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  jeff::Sessions sessions(options);
  auto issued = sessions.Set("alice@example.com", "consumer test");
  Expect(issued.ok() && issued->set_cookie.size() == 1, "Set issues a session cookie");
  if (issued.ok() && !issued->set_cookie.empty()) {
    const std::string& set_cookie = issued->set_cookie.front();
    const jeff::CheckResult checked = sessions.Check(set_cookie.substr(0, set_cookie.find(';')));
    Expect(checked.ok() && checked.session.key == "alice@example.com", "Check finds the session");
  }
  Expect(std::dynamic_pointer_cast<jeff::MemoryStore>(options.store) != nullptr,
         "dynamic_cast to a library class works");

  // An exception thrown inside the library is caught here by its type.
  try {
    jeff::Options no_store;
    no_store.strategy = jeff::SessionStrategy::kStateful;
    jeff::Sessions unusable(no_store);
    Expect(false, "a stateful Sessions without a store is refused");
  } catch (const std::invalid_argument&) {
    Expect(true, "a stateful Sessions without a store is refused");
  }

  // jeff-redis: a server that refuses connections is reported as unavailable.
  const RefusingPort refusing;
  jeff::RedisStoreOptions redis_options;
  redis_options.hosts = {{"127.0.0.1", refusing.port()}};
  jeff::RedisStore redis(redis_options);
  const auto fetched = redis.Fetch("jeff:consumer");
  Expect(!fetched.ok() && fetched.error() == jeff::Errc::kStoreUnavailable &&
             jeff::IsStoreError(fetched.error()),
         "Redis refusing connections is kStoreUnavailable");

  std::printf("consumer: %s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
