#pragma once
// Test support for jeffctl's end-to-end tests: the jeffctl binary and the
// real @auth/core / jose (test/jwe/interop/jwe.mjs under node) as child
// processes, and real servers to keep sessions in.

#include "support/cookies.hpp"
#include "support/server_process.hpp"
#include "tools/run_process.hpp"

#include <jeff/sessions.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace jeff::test {

/// jeffctl's exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStoreUnavailable = 3;

/// The salt (session cookie name) Auth.js derives keys with over plain HTTP.
inline const std::string kAuthJsSalt = "authjs.session-token";

/// Runs jeffctl (the binary named by $JEFFCTL) with `args` and `input`.
/// JEFF_STORE, JEFF_PEPPER, JEFF_SECRET and JEFF_AT_REST_KEYS are removed from its environment
/// unless `env` sets them.
ProcessOutcome Jeffctl(const std::vector<std::string>& args, std::string_view input = {},
                       EnvChanges env = {});

/// Checks that `run` failed with `exit_code`, printed nothing on stdout, and
/// said `says` on stderr, after jeffctl's "jeffctl: " prefix.
void CheckFails(const ProcessOutcome& run, int exit_code, std::string_view says);

/// Seconds since the Unix epoch, as JWT claims count them.
std::int64_t UnixNow();

/// Runs the interop helper (the real @auth/core and jose under node) on a
/// JSON array of `requests` and returns its answers, in order. Fails the
/// test, never skips, when node or the npm packages are missing.
nlohmann::json AuthJs(const nlohmann::json& requests);

/// AuthJs for one request; REQUIREs that it did not answer an error.
nlohmann::json AuthJsOne(const nlohmann::json& request);

/// URLs of a redis-server, a memcached and (when that store is built) a
/// PostgreSQL shared by the tests of this process, in that order, started on
/// first use (failing, never skipping, when they cannot start) and stopped at
/// exit.
const std::vector<std::string>& LiveStoreUrls();

/// A server of its own for a test that stops it, and its store URL with
/// short timeouts (so that a stopped server fails calls quickly).
struct OwnServer {
  std::unique_ptr<ServerProcess> process;
  std::string url;  ///< "redis://...", "memcached://..." or "postgresql://..."
  /// The same store with the default timeouts, for the calls a test needs to
  /// succeed (a loaded machine can take longer than the short ones).
  std::string setup_url;
  std::string scheme;  ///< "redis", "memcached" or "postgresql"
};

/// A fresh redis-server and a fresh memcached (and a fresh PostgreSQL when
/// that store is built).
std::vector<OwnServer> StartOwnServers();

/// Sessions on the store at `url` with `options` otherwise (its store is
/// replaced). The options default to jeff's defaults, as an app's would.
Sessions SessionsAt(const std::string& url, Options options = {});

/// Each line of `text` parsed as JSON; fails the test on a line that is not.
std::vector<nlohmann::json> JsonLines(std::string_view text);

}  // namespace jeff::test
