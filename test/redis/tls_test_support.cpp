#include "tls_test_support.hpp"

#include "redis_test_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace jeff::test {

TestPki::TestPki() {
  std::string templ = (std::filesystem::temp_directory_path() / "jeff-pki-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  {
    std::ofstream ext(Path("server.ext"));
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    std::ofstream client_ext(Path("client.ext"));
    client_ext << "extendedKeyUsage=clientAuth\n";
  }
  for (const char* ca : {"ca", "other-ca"}) {
    const std::string name = ca;
    Run("openssl req -x509 " + key + " -keyout " + Path(name + ".key") + " -out " +
        Path(name + ".crt") + " -subj /CN=jeff-test-" + name + " -days 2");
  }
  Run("openssl req " + key + " -keyout " + server_key() + " -out " + Path("server.csr") +
      " -subj /CN=localhost");
  // -days -1: valid until yesterday, i.e. expired.
  for (const char* days : {"2", "-1"}) {
    const std::string out = std::string(days) == "2" ? server_cert() : expired_server_cert();
    Run("openssl x509 -req -in " + Path("server.csr") + " -CA " + ca() + " -CAkey " +
        Path("ca.key") + " -CAcreateserial -out " + out + " -days " + days + " -extfile " +
        Path("server.ext"));
  }
  Run("openssl req " + key + " -keyout " + client_key() + " -out " + Path("client.csr") +
      " -subj /CN=jeff-client");
  Run("openssl x509 -req -in " + Path("client.csr") + " -CA " + ca() + " -CAkey " +
      Path("ca.key") + " -CAcreateserial -out " + client_cert() + " -days 2 -extfile " +
      Path("client.ext"));
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void TestPki::Run(const std::string& command) const {
  const std::string log = Path("openssl.log");
  if (std::system((command + " > " + log + " 2>&1").c_str()) != 0) {
    std::ifstream in(log);
    const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    throw std::runtime_error("'" + command + "' failed: " + output);
  }
}

std::unique_ptr<ServerProcess> StartRedisTls(const TestPki& pki, std::vector<std::string> extra_args,
                                             bool expired, std::uint16_t port) {
  std::vector<std::string> argv = {
      "redis-server",  "--port",          "0",
      "--tls-port",    "{port}",          "--tls-cert-file",
      expired ? pki.expired_server_cert() : pki.server_cert(),
      "--tls-key-file", pki.server_key(), "--tls-ca-cert-file",
      pki.ca(),        "--tls-auth-clients", "no",
      "--bind",        "127.0.0.1",       "--save",
      "",              "--appendonly",    "no",
      "--dir",         "{dir}",           "--daemonize",
      "no",            "--protected-mode", "no"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<ServerProcess>("redis-tls", std::move(argv), port);
}

RedisStoreOptions LocalTlsOptions(const TestPki& pki, std::uint16_t port) {
  RedisStoreOptions o = LocalOptions(port);
  o.tls.enabled = true;
  o.tls.ca_file = pki.ca();
  return o;
}

}  // namespace jeff::test
