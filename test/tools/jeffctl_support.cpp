#include "tools/jeffctl_support.hpp"

#include <doctest/doctest.h>
#include <jeff/stores/open_store.hpp>

#ifdef JEFF_TEST_POSTGRES
#include "postgres/postgres_support.hpp"
#endif

#include <chrono>
#include <cstdlib>
#include <memory>

namespace jeff::test {
namespace {

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  REQUIRE_MESSAGE((value != nullptr && *value != '\0'), name << " must be set (meson test sets it)");
  return value;
}

}  // namespace

ProcessOutcome Jeffctl(const std::vector<std::string>& args, std::string_view input,
                       EnvChanges env) {
  for (const char* name : {"JEFF_STORE", "JEFF_PEPPER", "JEFF_SECRET", "JEFF_AT_REST_KEYS"}) env.try_emplace(name);
  std::vector<std::string> argv = {RequiredEnv("JEFFCTL")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input, env);
}

void CheckFails(const ProcessOutcome& run, int exit_code, std::string_view says) {
  CHECK(run.exit_code == exit_code);
  CHECK(run.out == "");
  CHECK_MESSAGE(run.err.starts_with("jeffctl: "), run.err);
  CHECK_MESSAGE(run.err.find(says) != std::string::npos, "expected \"" << says << "\" in: " << run.err);
}

std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json AuthJs(const nlohmann::json& requests) {
  const std::string script = RequiredEnv("JEFF_JWE_INTEROP_DIR") + "/jwe.mjs";
  const ProcessOutcome node = RunProcess({RequiredEnv("JEFF_NODE"), script}, requests.dump());
  REQUIRE_MESSAGE(node.exit_code == 0,
                  script << " failed (exit " << node.exit_code << "): " << node.err
                         << "\nis node installed, and the packages (npm ci --prefix "
                            "test/jwe/interop)?");
  nlohmann::json answers = nlohmann::json::parse(node.out);
  REQUIRE(answers.is_array());
  REQUIRE(answers.size() == requests.size());
  return answers;
}

nlohmann::json AuthJsOne(const nlohmann::json& request) {
  nlohmann::json answer = AuthJs(nlohmann::json::array({request}))[0];
  REQUIRE_MESSAGE(!answer.contains("error"), request.dump() << " -> " << answer.dump());
  return answer;
}

const std::vector<std::string>& LiveStoreUrls() {
  static const std::unique_ptr<ServerProcess> redis = StartRedis();
  static const std::unique_ptr<ServerProcess> memcached = StartMemcached();
#ifdef JEFF_TEST_POSTGRES
  static const std::unique_ptr<ServerProcess> postgres = [] {
    auto server = StartPostgres();
    WaitPostgresReady(server->port());
    CreateTestTable(server->port());
    return server;
  }();
#endif
  static const std::vector<std::string> urls = {
      "redis://" + redis->address(), "memcached://" + memcached->address(),
#ifdef JEFF_TEST_POSTGRES
      PostgresUrl(postgres->port()) + "?create_table=1",
#endif
  };
  return urls;
}

std::vector<OwnServer> StartOwnServers() {
  std::vector<OwnServer> servers;
  auto redis = StartRedis();
  const std::string redis_url = "redis://" + redis->address();
  servers.push_back({std::move(redis), redis_url + "?connect_timeout=300ms&timeout=300ms", redis_url, "redis"});
  auto memcached = StartMemcached();
  const std::string memcached_url = "memcached://" + memcached->address();
  servers.push_back({std::move(memcached), memcached_url + "?connect_timeout=300ms&io_timeout=300ms",
                     memcached_url, "memcached"});
#ifdef JEFF_TEST_POSTGRES
  auto postgres = StartPostgres();
  WaitPostgresReady(postgres->port());
  CreateTestTable(postgres->port());
  const std::string postgres_url = PostgresUrl(postgres->port()) + "?create_table=1";
  servers.push_back({std::move(postgres), postgres_url + "&connect_timeout=1&timeout=300ms", postgres_url,
                     "postgresql"});
#endif
  return servers;
}

Sessions SessionsAt(const std::string& url, Options options) {
  options.store = OpenStore(url);
  return Sessions(std::move(options));
}

std::vector<nlohmann::json> JsonLines(std::string_view text) {
  std::vector<nlohmann::json> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    REQUIRE_MESSAGE(end != std::string_view::npos, "output does not end in a newline");
    lines.push_back(nlohmann::json::parse(text.substr(0, end)));
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace jeff::test
