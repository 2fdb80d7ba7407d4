// jeff example: a small web app with logins kept by jeff.
//   jeff-example [--address A] [--port P] [--store URL] [--user EMAIL:PASSWORD]...
//                [--origin URL]... [--max-sessions N] [--cookie-name NAME] [--insecure]
//                [--help]

#include "accounts.hpp"
#include "app.hpp"

#include <jeff/sessions.hpp>
#include <jeff/stores/open_store.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage = R"(usage: jeff-example [options]

A small web app whose logins are kept by jeff.

  --address ADDR        listen address (default 127.0.0.1)
  --port PORT           listen port (default 8080)
  --store URL           session store (default $JEFF_STORE or memory://):
                        memory://, redis://host:port/db, redis+cluster://h:p,h:p,
                        memcached://h:p,h:p, postgres://user@host:port/db
  --user EMAIL:PASSWORD demo account (repeatable); default demo@example.com:demo-password
  --origin URL          extra origin allowed to POST (repeatable); the listen
                        address is always allowed
  --max-sessions N      sessions kept per user (default 64, 0 = no limit)
  --cookie-name NAME    session cookie name (default jeff_session); a __Host-
                        name is checked: Secure, Path=/, no Domain
  --insecure            send the cookie without Secure (plain-HTTP development)
  --stateless           keep sessions in an encrypted cookie (JWE, Auth.js v5
                        format) instead of a store; secrets from --secret or
                        $JEFF_SECRET (comma-separated, newest first, >= 32 bytes)
  --secret SECRET       stateless secret (repeatable, newest first)
  --claim NAME=VALUE    stateless: a claim the JWT callback adds at sign-in
                        (repeatable)
  --help                this text
)";

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
  std::vector<std::string> secrets;
  std::vector<std::pair<std::string, std::string>> claims;
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "jeff-example: " << error << "\n\n" << kUsage;
  std::exit(2);
}

long Number(const std::string& flag, const std::string& text, long min, long max) {
  try {
    std::size_t used = 0;
    long v = std::stol(text, &used);
    if (used == text.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  Usage(flag + " needs a number from " + std::to_string(min) + " to " + std::to_string(max));
}

Flags Parse(int argc, char** argv) {
  Flags f;
  if (const char* env = std::getenv("JEFF_STORE")) f.store = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--address") {
      f.address = value();
    } else if (arg == "--port") {
      f.port = static_cast<int>(Number(arg, value(), 1, 65535));
    } else if (arg == "--store") {
      f.store = value();
    } else if (arg == "--user") {
      f.users.push_back(value());
    } else if (arg == "--origin") {
      f.origins.push_back(value());
    } else if (arg == "--max-sessions") {
      f.max_sessions = Number(arg, value(), 0, 1000000);
    } else if (arg == "--cookie-name") {
      f.cookie_name = value();
    } else if (arg == "--insecure") {
      f.insecure = true;
    } else if (arg == "--stateless") {
      f.stateless = true;
    } else if (arg == "--secret") {
      f.secrets.push_back(value());
    } else if (arg == "--claim") {
      const std::string claim = value();
      const auto eq = claim.find('=');
      if (eq == std::string::npos || eq == 0) Usage("--claim needs NAME=VALUE");
      f.claims.emplace_back(claim.substr(0, eq), claim.substr(eq + 1));
    } else {
      Usage("unknown option " + arg);
    }
  }
  if (f.store.empty()) f.store = "memory://";
  if (f.stateless && f.secrets.empty()) {
    if (const char* env = std::getenv("JEFF_SECRET")) f.secrets = SplitCommas(env);
    if (f.secrets.empty()) Usage("--stateless needs --secret or JEFF_SECRET");
  }
  if (!f.stateless && (!f.secrets.empty() || !f.claims.empty())) {
    Usage("--secret and --claim go with --stateless");
  }
  if (f.users.empty()) f.users.push_back("demo@example.com:demo-password");
  return f;
}

httplib::Server* g_server = nullptr;

void Stop(int) {
  if (g_server != nullptr) g_server->stop();
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = Parse(argc, argv);
  try {
    example::Accounts accounts;
    for (const std::string& user : flags.users) {
      const auto colon = user.find(':');
      if (colon == std::string::npos || colon == 0) Usage("--user needs EMAIL:PASSWORD");
      accounts.Add(user.substr(0, colon), user.substr(colon + 1));
    }

    jeff::Options options;
    if (flags.stateless) {
      options.strategy = jeff::SessionStrategy::kStateless;
      options.stateless.secrets = flags.secrets;
      options.stateless.jwt_callback = [claims = flags.claims](jeff::JwtTrigger, std::string_view,
                                                               nlohmann::json& token) -> jeff::Result<void> {
        for (const auto& [name, value] : claims) token[name] = value;
        return {};
      };
    } else {
      options.store = jeff::OpenStore(flags.store);
    }
    options.insecure = flags.insecure;
    if (!flags.cookie_name.empty()) options.cookie.name = flags.cookie_name;
    options.max_sessions_per_key = static_cast<std::size_t>(flags.max_sessions);
    options.unauthorized_redirect = "/login";
    jeff::Sessions sessions(std::move(options));

    example::AppConfig config;
    // The app itself serves plain HTTP; behind a TLS proxy, pass --origin https://...
    const std::string scheme = "http://";
    const std::string port = ":" + std::to_string(flags.port);
    config.allowed_origins = {scheme + flags.address + port};
    if (flags.address == "127.0.0.1") config.allowed_origins.push_back(scheme + "localhost" + port);
    config.allowed_origins.insert(config.allowed_origins.end(), flags.origins.begin(),
                                  flags.origins.end());

    httplib::Server server;
    // Without it every keep-alive response waits for the client's delayed ACK.
    server.set_tcp_nodelay(true);
    example::MountRoutes(server, sessions, accounts, config);
    g_server = &server;
    std::signal(SIGINT, Stop);
    std::signal(SIGTERM, Stop);
    std::cerr << "jeff example on http://" << flags.address << port << " ("
              << (flags.stateless ? "stateless" : "store " + flags.store.substr(0, flags.store.find("://") + 3) + "...")
              << ")\n";
    if (!server.listen(flags.address, flags.port)) {
      std::cerr << "jeff-example: cannot listen on " << flags.address << port << "\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-example: " << e.what() << "\n";
    return 1;
  }
}
