#include "config.hpp"

#include <jeff/error.hpp>
#include <jeff/store_url.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>

namespace example {
namespace {

constexpr const char* kUsage = R"(usage: PROGRAM [options]

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
  --insecure            send the cookie without Secure (plain-HTTP development:
                        needed on http:// with a host name other than localhost)
  --stateless           keep sessions in an encrypted cookie (JWE, Auth.js v5
                        format) instead of a store; secrets from --secret or
                        $JEFF_SECRET (comma-separated, newest first, >= 32 bytes)
  --secret SECRET       stateless secret (repeatable, newest first)
  --claim NAME=VALUE    stateless: a claim the JWT callback adds at sign-in
                        (repeatable)
  --metrics             count sessions' operations and serve them on GET /metrics
                        (Prometheus text format; unauthenticated: expose the
                        port to your scraper only)
  --dbsc                bind sessions to the browser's key (Device Bound Session
                        Credentials): a short-lived cookie that only the device
                        holding the key can refresh; needs HTTPS and a store
  --dbsc-cookie-lifetime SECONDS
                        lifetime of that bound cookie (default 600)
  --tls-cert FILE       serve HTTPS with this PEM certificate (chain); needs
                        --tls-key (jeff-example only; the Beast and POCO
                        examples speak plain HTTP behind a TLS proxy)
  --tls-key FILE        the PEM private key of --tls-cert
  --help                this text
)";

// ParseFlags' `more_options`, for the usage text.
std::string_view more_options_text;

std::string Usage(std::string_view program) {
  std::string text = kUsage;
  text.replace(text.find("PROGRAM"), 7, program);
  text.insert(text.find("  --help"), more_options_text);
  return text;
}

[[noreturn]] void Fail(std::string_view program, const std::string& error) {
  std::cerr << program << ": " << error << "\n\n" << Usage(program);
  std::exit(2);
}

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

long Number(std::string_view program, const std::string& flag, const std::string& text, long min,
            long max) {
  try {
    std::size_t used = 0;
    long v = std::stol(text, &used);
    if (used == text.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  Fail(program, flag + " needs a number from " + std::to_string(min) + " to " + std::to_string(max));
}

}  // namespace

Flags ParseFlags(int argc, char** argv, std::string_view program, std::string_view more_options) {
  more_options_text = more_options;
  Flags f;
  if (const char* env = std::getenv("JEFF_STORE")) f.store = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Fail(program, arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << Usage(program);
      std::exit(0);
    } else if (arg == "--address") {
      f.address = value();
    } else if (arg == "--port") {
      f.port = static_cast<int>(Number(program, arg, value(), 1, 65535));
    } else if (arg == "--store") {
      f.store = value();
    } else if (arg == "--user") {
      f.users.push_back(value());
    } else if (arg == "--origin") {
      f.origins.push_back(value());
    } else if (arg == "--max-sessions") {
      f.max_sessions = Number(program, arg, value(), 0, 1000000);
    } else if (arg == "--cookie-name") {
      f.cookie_name = value();
    } else if (arg == "--insecure") {
      f.insecure = true;
    } else if (arg == "--stateless") {
      f.stateless = true;
    } else if (arg == "--metrics") {
      f.metrics = true;
    } else if (arg == "--dbsc") {
      f.dbsc = true;
    } else if (arg == "--dbsc-cookie-lifetime") {
      f.dbsc_cookie_lifetime = Number(program, arg, value(), 1, 86400);
    } else if (arg == "--tls-cert") {
      f.tls_cert = value();
    } else if (arg == "--tls-key") {
      f.tls_key = value();
    } else if (arg == "--secret") {
      f.secrets.push_back(value());
    } else if (arg == "--claim") {
      const std::string claim = value();
      const auto eq = claim.find('=');
      if (eq == std::string::npos || eq == 0) Fail(program, "--claim needs NAME=VALUE");
      f.claims.emplace_back(claim.substr(0, eq), claim.substr(eq + 1));
    } else {
      Fail(program, "unknown option " + arg);
    }
  }
  if (f.store.empty()) f.store = "memory://";
  if (f.stateless && f.secrets.empty()) {
    if (const char* env = std::getenv("JEFF_SECRET")) f.secrets = SplitCommas(env);
    if (f.secrets.empty()) Fail(program, "--stateless needs --secret or JEFF_SECRET");
  }
  if (!f.stateless && (!f.secrets.empty() || !f.claims.empty())) {
    Fail(program, "--secret and --claim go with --stateless");
  }
  if (f.stateless && f.dbsc) Fail(program, "--dbsc needs a store (not --stateless)");
  if (f.tls_cert.empty() != f.tls_key.empty()) Fail(program, "--tls-cert and --tls-key go together");
  if (f.users.empty()) f.users.push_back("demo@example.com:demo-password");
  return f;
}

Accounts MakeAccounts(const Flags& flags, std::string_view program) {
  Accounts accounts;
  for (const std::string& user : flags.users) {
    const auto colon = user.find(':');
    if (colon == std::string::npos || colon == 0) Fail(program, "--user needs EMAIL:PASSWORD");
    accounts.Add(user.substr(0, colon), user.substr(colon + 1));
  }
  return accounts;
}

jeff::Options SessionOptions(const Flags& flags) {
  jeff::Options options;
  if (flags.stateless) {
    options.strategy = jeff::SessionStrategy::kStateless;
    options.stateless.secrets = flags.secrets;
    options.stateless.jwt_callback = [claims = flags.claims](jeff::JwtTrigger, std::string_view,
                                                             nlohmann::json& token) -> jeff::Result<void> {
      for (const auto& [name, value] : claims) token[name] = value;
      return {};
    };
  }
  options.insecure = flags.insecure;
  options.metrics = flags.metrics;
  if (!flags.cookie_name.empty()) options.cookie.name = flags.cookie_name;
  options.max_sessions_per_key = static_cast<std::size_t>(flags.max_sessions);
  options.unauthorized_redirect = "/login";
  options.device_binding.enabled = flags.dbsc;
  if (flags.dbsc_cookie_lifetime != 0) {
    options.device_binding.cookie_lifetime = std::chrono::seconds(flags.dbsc_cookie_lifetime);
  }
  return options;
}

AppConfig MakeAppConfig(const Flags& flags) {
  AppConfig config;
  config.stateless = flags.stateless;
  config.metrics = flags.metrics;
  // Behind a TLS proxy, pass --origin https://...
  const std::string scheme = Scheme(flags);
  const std::string port = ":" + std::to_string(flags.port);
  config.allowed_origins = {scheme + flags.address + port};
  if (flags.address == "127.0.0.1") config.allowed_origins.push_back(scheme + "localhost" + port);
  config.allowed_origins.insert(config.allowed_origins.end(), flags.origins.begin(),
                                flags.origins.end());
  return config;
}

void WarnAtStartUp(const Flags& flags, std::string_view program, std::error_code probe) {
  if (!flags.stateless && probe && jeff::IsStoreError(probe)) {
    // A store that answers and refuses (credentials, database, table) needs
    // its configuration fixed; one that does not answer may come up later.
    const bool refused = probe == jeff::Errc::kStoreRefused;
    std::cerr << program << ": WARNING: the store " << jeff::RedactStoreUrl(flags.store)
              << (refused ? " refuses jeff's requests (" : " cannot be reached (")
              << jeff::DescribeError(probe) << "); pages that need a session answer 503 until "
              << (refused ? "its configuration is fixed\n" : "it can\n");
  }
}

std::string Scheme(const Flags& flags) {
  return flags.tls_cert.empty() ? "http://" : "https://";
}

std::string Banner(const Flags& flags) {
  return "jeff example on " + Scheme(flags) + flags.address + ":" + std::to_string(flags.port) + " (" +
         (flags.stateless ? "stateless"
                          : "store " + flags.store.substr(0, flags.store.find("://") + 3) + "...") +
         ")";
}

}  // namespace example
