#pragma once
// The example apps' command line (the cpp-httplib and the Boost.Beast server
// take the same flags) and what it configures: accounts, jeff::Options, the
// app's origins.

#include "accounts.hpp"

#include <jeff/sessions.hpp>

#include <string>
#include <system_error>
#include <string_view>
#include <utility>
#include <vector>

namespace example {

// The flags, parsed.
struct Flags {
  std::string address = "127.0.0.1";
  int port = 8080;
  std::string store;
  std::vector<std::string> users;
  std::vector<std::string> origins;
  long max_sessions = 64;
  std::string cookie_name;  // empty: jeff's default
  bool insecure = false;
  bool stateless = false;
  bool metrics = false;  // --metrics: count (Options::metrics) and serve /metrics
  // --dbsc: device-bound sessions (Options::device_binding); the bound
  // cookie's lifetime in seconds (0: jeff's default).
  bool dbsc = false;
  long dbsc_cookie_lifetime = 0;
  // --tls-cert / --tls-key: serve HTTPS with this PEM certificate (chain) and
  // key; both or neither.
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> secrets;
  std::vector<std::pair<std::string, std::string>> claims;
};

// Parses the command line of `program` ("jeff-example", ...). --help prints
// the usage and exits 0; a bad flag prints it with the error and exits 2.
// `more_options`: usage lines of flags the program parsed itself (and took
// out of argv), listed before --help.
Flags ParseFlags(int argc, char** argv, std::string_view program,
                 std::string_view more_options = {});

// The accounts of --user (exits 2 on a malformed one).
Accounts MakeAccounts(const Flags& flags, std::string_view program);

// jeff::Options for `flags`, without a store (the caller opens --store its
// way, synchronous or asynchronous; stateless mode needs none).
jeff::Options SessionOptions(const Flags& flags);

// What the routes need to know beyond the sessions.
struct AppConfig {
  // Origins allowed to POST (CSRF check on every state change).
  std::vector<std::string> allowed_origins;
  // Sessions live in an encrypted cookie (--stateless): no "remember me"
  // box, no device list.
  bool stateless = false;
  // Serve jeff's counters on GET /metrics (Prometheus text format).
  bool metrics = false;
};

// The listen address's origins (and localhost's for 127.0.0.1) plus --origin.
AppConfig MakeAppConfig(const Flags& flags);

// Start-up warning on stderr: a store that cannot be reached or refuses
// (`probe` is what a first read found, printed with its reason; not fatal,
// it may come up later). A browser that drops the Secure cookie is told by
// the login page (PlainHttpNotice).
void WarnAtStartUp(const Flags& flags, std::string_view program, std::error_code probe);

// "https://" with --tls-cert, else "http://".
std::string Scheme(const Flags& flags);

// "jeff example on http://ADDRESS:PORT (store memory://...)", for stderr.
std::string Banner(const Flags& flags);

}  // namespace example
