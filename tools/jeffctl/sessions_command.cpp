#include "sessions_command.hpp"

#include "at_rest_keys.hpp"
#include "session_json.hpp"

#include <jeff/error.hpp>
#include <jeff/sessions.hpp>
#include <jeff/store_url.hpp>
#include <jeff/stores/open_store.hpp>
#include <jeff/token.hpp>

#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace jeff::ctl {
namespace {

constexpr std::string_view kStoreOptionsHelp =
    "  --store URL         the application's store URL, query options included (default\n"
    "                      $JEFF_STORE): memory://, redis://[:password@]host:port[/db],\n"
    "                      redis+cluster://h:p,h:p, redis-sentinel://h:p,h:p/master,\n"
    "                      rediss:// (TLS; also rediss+cluster, rediss-sentinel),\n"
    "                      memcached://h:p[,h:p], postgres://user@host:port/db\n"
    "  --prefix P          the application's Options::key_prefix (default jeff:)\n"
    "  --pepper P          the application's Options::pepper (default $JEFF_PEPPER; none when\n"
    "                      unset)\n"
    "  --read-pepper P     one of the application's Options::read_peppers (repeatable; \"\"\n"
    "                      for none), while a pepper rotation is under way\n"
    "  --idle-timeout S    the application's Options::idle_timeout in seconds (default 0:\n"
    "                      none); sessions idle longer count as ended\n"
    "\n"
    "Sessions are stored under <prefix><hash of KEY, with the pepper>: the URL, --prefix and\n"
    "--pepper must be the application's own, or jeffctl finds nothing.\n"
    "\n";

constexpr std::string_view kListUsage =
    "usage: jeffctl sessions list KEY [--store URL] [--prefix P] [--pepper P]\n"
    "                             [--idle-timeout S] [--max-age S]\n"
    "\n"
    "Prints the live sessions of KEY, oldest first, one JSON object per line:\n"
    "  {\"key\":\"alice\",\"id\":\"<uuid>\",\"created\":\"2030-01-01T00:00:00.000Z\",\n"
    "   \"created_ms\":1893456000000,\"expires\":...,\"expires_ms\":...,\"last_seen\":...,\n"
    "   \"last_seen_ms\":...,\"meta\":\"...\",\"persistent\":true,\"device_bound\":false}\n"
    "device_bound: a DBSC device key is bound to the session (the browser proves\n"
    "possession of it to renew a short-lived cookie).\n"
    "Times are UTC; key and meta are strings when they are UTF-8, else\n"
    "{\"base64\":\"...\"}. persistent: the session's cookie has Max-Age (false: a\n"
    "browser-session cookie, gone when the browser closes). Exits 1 when KEY has no\n"
    "live session.\n"
    "\n"
    "  --max-age S         the application's Options::max_age in seconds (default 2592000,\n"
    "                      30 days): decides \"persistent\" for sessions whose login made no\n"
    "                      choice of its own (0: browser-session cookies)\n";

constexpr std::string_view kRevokeUsage =
    "usage: jeffctl sessions revoke KEY [--id ID ...] [--store URL] [--prefix P]\n"
    "                               [--pepper P] [--idle-timeout S]\n"
    "\n"
    "Revokes every session of KEY, or only those whose ids (from 'sessions list') are\n"
    "given, and prints how many live sessions were revoked: {\"revoked\":2}. Exits 1\n"
    "when none was.\n"
    "\n"
    "  --id ID             a session id (UUID) to revoke; repeatable\n";

constexpr Flag kStoreFlags[] = {
    {"store", true, false},
    {"prefix", true, false},
    {"pepper", true, false},
    {"read-pepper", true, true},
    {"idle-timeout", true, false},
};

std::string TheKey(const Args& args) {
  const auto& positional = args.positional();
  if (positional.empty()) throw UsageError("missing KEY");
  if (positional.size() > 1) throw UsageError("unexpected argument " + positional[1]);
  if (positional[0].empty()) throw UsageError("KEY is empty");
  return positional[0];
}

// jeff::Sessions over the application's store, keyed as the application keys it.
struct StoreSessions {
  std::string redacted_url;
  Sessions sessions;
};

StoreSessions OpenSessions(const Args& args) {
  const std::optional<std::string> url = args.Has("store") ? args.Value("store") : Env("JEFF_STORE");
  if (!url || url->empty()) throw UsageError("no store: pass --store URL or set JEFF_STORE");
  Options options;
  options.strategy = SessionStrategy::kStateful;
  try {
    options.store = OpenStore(*url);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (url->starts_with("memory:")) {
    PrintError("warning: memory:// is jeffctl's own, empty store; it holds no application's sessions");
  }
  options.key_prefix = args.Value("prefix").value_or(options.key_prefix);
  options.pepper = args.Has("pepper") ? *args.Value("pepper") : Env("JEFF_PEPPER").value_or("");
  options.at_rest.keys = ParseAtRestKeys(Env("JEFF_AT_REST_KEYS").value_or(""));
  options.at_rest.seal_writes = false;  // see kAtRestKeysHelp
  options.read_peppers = args.Values("read-pepper");
  if (auto idle = args.Value("idle-timeout")) {
    options.idle_timeout = ParseSeconds("idle-timeout", *idle, std::chrono::seconds(0),
                                        std::chrono::hours(24 * 365 * 100));
    // jeffctl never calls Check, so the touch interval only has to satisfy
    // the validation (0 < touch_interval < idle_timeout), as the app's does.
    if (options.idle_timeout.count() > 0) {
      options.touch_interval =
          std::min(options.touch_interval, options.idle_timeout - std::chrono::seconds(1));
    }
  }
  if (auto max_age = args.Value("max-age")) {
    options.max_age = ParseSeconds("max-age", *max_age, std::chrono::seconds(0), kMaxCookieLifetime);
  }
  options.logger = [](std::string_view message) { PrintError(message); };
  try {
    return {RedactStoreUrl(*url), Sessions(std::move(options))};
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

// Why finding nothing may be jeffctl's mistake: where it looked, without
// the pepper itself.
std::string WhereJeffctlLooked(const Options& options) {
  return ". If the application has some, jeffctl is looking in the wrong place: the store URL, "
         "--prefix (here " + options.key_prefix + ") and --pepper (here " +
         (options.pepper.empty() ? "none" : "given") +
         ") must be the application's own (Options::key_prefix, Options::pepper)";
}

// Why `sessions revoke` revoked nothing: the key has live sessions, none of
// the `ids` given (when there were some); else nothing live where jeffctl looked.
std::string NothingRevoked(Sessions& sessions, const std::string& key, std::size_t ids) {
  if (ids > 0) {
    const auto live = sessions.SessionsForKey(key);
    if (live && !live->empty()) {
      const std::size_t n = live->size();
      return std::string("no session with ") + (ids == 1 ? "the given id" : "any of the given ids") +
             "; this key has " + std::to_string(n) + " live session" + (n == 1 ? "" : "s") +
             " (see 'jeffctl sessions list KEY' for their ids)";
    }
  }
  return "no live session to revoke" + WhereJeffctlLooked(sessions.options());
}

// Prints why a call failed, in the store's words when it gave some (a
// refusal names the server's reason; an outage where it could not connect).
ExitCode Failed(std::error_code error, const std::string& redacted_url) {
  if (IsStoreError(error)) {
    PrintError("store " + redacted_url + ": " + DescribeError(error));
    return ExitCode::kStoreUnavailable;
  }
  PrintError(DescribeError(error));
  return ExitCode::kUsage;
}

ExitCode List(const Args& args) {
  const std::string key = TheKey(args);
  StoreSessions store = OpenSessions(args);
  auto sessions = store.sessions.SessionsForKey(key);
  if (!sessions) return Failed(sessions.error(), store.redacted_url);
  for (const Session& session : *sessions) std::cout << SessionJson(session).dump() << "\n";
  std::cout.flush();
  if (sessions->empty()) {
    PrintError("no live session for this key" + WhereJeffctlLooked(store.sessions.options()));
    return ExitCode::kFailure;
  }
  return ExitCode::kOk;
}

ExitCode Revoke(const Args& args) {
  const std::string key = TheKey(args);
  std::vector<SessionId> ids;
  for (const std::string& text : args.Values("id")) {
    const auto id = ParseSessionId(text);
    if (!id) throw UsageError("--id " + text + " is not a session id (a UUID)");
    ids.push_back(*id);
  }
  StoreSessions store = OpenSessions(args);
  auto revoked = ids.empty() ? store.sessions.Delete(key) : store.sessions.Delete(key, ids);
  if (!revoked) return Failed(revoked.error(), store.redacted_url);
  std::cout << nlohmann::ordered_json{{"revoked", *revoked}}.dump() << std::endl;
  if (*revoked == 0) {
    PrintError(NothingRevoked(store.sessions, key, ids.size()));
    return ExitCode::kFailure;
  }
  return ExitCode::kOk;
}

}  // namespace

CommandGroup SessionsCommands() {
  return {"sessions",
          {
              {"list", "list the live sessions of KEY as JSON lines",
               std::string(kListUsage) + std::string(kStoreOptionsHelp) + std::string(kAtRestKeysHelp),
               Flags({{"max-age", true, false}}, kStoreFlags), List},
              {"revoke", "revoke all sessions of KEY, or those given by --id",
               std::string(kRevokeUsage) + std::string(kStoreOptionsHelp) + std::string(kAtRestKeysHelp),
               Flags({{"id", true, true}}, kStoreFlags), Revoke},
          }};
}

}  // namespace jeff::ctl
