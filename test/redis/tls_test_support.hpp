#pragma once
// Test support for Redis over TLS: certificates made at test time with the
// `openssl` command, and redis-server serving TLS only.

#include "support/server_process.hpp"

#include <jeff/stores/redis/redis_store.hpp>

#include <memory>
#include <string>
#include <vector>

namespace jeff::test {

/// A throw-away PKI in a temporary folder (removed by the destructor): a CA,
/// a server certificate for IP 127.0.0.1 and DNS localhost signed by it, an
/// expired one for the same names, a client certificate signed by it, and
/// an unrelated CA. EC P-256 keys (fast). Throws std::runtime_error when
/// `openssl` fails or is missing.
class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  std::string ca() const { return Path("ca.crt"); }
  std::string other_ca() const { return Path("other-ca.crt"); }
  std::string server_cert() const { return Path("server.crt"); }
  std::string expired_server_cert() const { return Path("expired.crt"); }
  std::string server_key() const { return Path("server.key"); }
  std::string client_cert() const { return Path("client.crt"); }
  std::string client_key() const { return Path("client.key"); }

 private:
  void Run(const std::string& command) const;
  std::string dir_;
};

/// redis-server with TLS only (`--port 0 --tls-port <free>`), the server
/// certificate of `pki` (the expired one when `expired`), trusting `pki`'s
/// CA for client certificates, not requiring them unless `extra_args` says
/// `--tls-auth-clients yes`. TLS port `port` (0: a free one).
std::unique_ptr<ServerProcess> StartRedisTls(const TestPki& pki,
                                             std::vector<std::string> extra_args = {},
                                             bool expired = false, std::uint16_t port = 0);

/// LocalOptions(port) with TLS on and `pki`'s CA as the only trust anchor.
RedisStoreOptions LocalTlsOptions(const TestPki& pki, std::uint16_t port);

}  // namespace jeff::test
