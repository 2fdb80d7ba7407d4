#include "sessions_command.hpp"

#include "at_rest_keys.hpp"
#include "session_json.hpp"

#include <jeff/error.hpp>
#include <jeff/key_listing.hpp>
#include <jeff/sessions.hpp>
#include <jeff/store_url.hpp>
#include <jeff/stores/open_store.hpp>
#include <jeff/token.hpp>

#include <algorithm>
#include <charconv>
#include <span>
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

constexpr std::string_view kRekeyUsage =
    "usage: jeffctl sessions rekey --pepper NEW --read-pepper OLD [--read-pepper OLD ...]\n"
    "                              [--store URL] [--prefix P] [--idle-timeout S] [--page N]\n"
    "\n"
    "Moves every record of a pepper rotation's old peppers to the new one: the ring of\n"
    "step 2 of the README's \"Changing the pepper\" (--pepper the new pepper, --read-pepper\n"
    "each old one). It lists the store's keys under --prefix (Redis: SCAN, on every master\n"
    "of a cluster; PostgreSQL: the table's rows by key, in pages) and moves each record\n"
    "stored under an old pepper's key id as a server with Options::move_records moves it\n"
    "on its first write (sessions are neither lost nor revived, whoever races it), and\n"
    "finishes moves a server left half done. Then the old pepper can leave read_peppers\n"
    "at once (step 3). Prints {\"moved\":N,\"finished\":N,\"foreign\":N,\"scanned\":N}:\n"
    "records moved, half-done moves finished, records left as they are because no pepper\n"
    "of the ring makes their key id (another pepper's; Delete(key) cannot reach them), and\n"
    "keys listed. A second run moves nothing. Safe to interrupt and run again; after a\n"
    "store failure (exit 3) what was moved stays moved. With JEFF_AT_REST_KEYS set, the\n"
    "records it writes are sealed with the ring's first key.\n"
    "memcached cannot list its keys: there records move only on their first write by a\n"
    "server with Options::move_records, so rekey refuses it (exit 2).\n"
    "\n"
    "  --page N            keys asked of the store per round trip (default 1000)\n";

constexpr std::size_t kDefaultRekeyPage = 1000;

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

// What a command does with the store: read and revoke, or move records
// (Options::move_records, writes sealed when at-rest keys are given).
enum class Use { kRevoke, kMove };

StoreSessions OpenSessions(const Args& args, Use use = Use::kRevoke) {
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
  // See kAtRestKeysHelp: a revoke writes in clear; a move rewrites whole
  // records, which must not leave the store in clear.
  options.at_rest.seal_writes = use == Use::kMove && !options.at_rest.keys.empty();
  options.move_records = use == Use::kMove;
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

std::size_t ParsePage(const Args& args) {
  const std::optional<std::string> text = args.Value("page");
  if (!text) return kDefaultRekeyPage;
  std::size_t page = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), page);
  if (ec != std::errc() || end != text->data() + text->size() || page == 0 || page > 100000) {
    throw UsageError("--page must be a whole number in 1..100000");
  }
  return page;
}

ExitCode Rekey(const Args& args) {
  if (!args.positional().empty()) throw UsageError("unexpected argument " + args.positional()[0]);
  if (!args.Has("read-pepper")) {
    throw UsageError("no --read-pepper: give the old pepper(s) whose records move to --pepper");
  }
  const std::size_t page = ParsePage(args);
  StoreSessions store = OpenSessions(args, Use::kMove);
  const Options& options = store.sessions.options();
  auto* listing = dynamic_cast<KeyListing*>(options.store.get());
  if (listing == nullptr) {
    PrintError("store " + store.redacted_url +
               " cannot list its keys (memcached has no way to enumerate them), so rekey cannot "
               "visit its records. There records move only lazily, on their first write by a server "
               "with Options::move_records: keep the old pepper in read_peppers until its sessions' "
               "lifetime has passed (README, \"Changing the pepper\")");
    return ExitCode::kUsage;
  }
  std::size_t scanned = 0;
  std::size_t moved = 0;
  std::size_t finished = 0;
  std::size_t foreign = 0;
  const Result<void> listed =
      listing->ListKeys(options.key_prefix, page, [&](std::span<const std::string> keys) -> Result<void> {
        for (const std::string& key : keys) {
          ++scanned;
          const Result<MoveOutcome> outcome = store.sessions.MoveRecord(key);
          if (!outcome) return outcome.error();
          moved += *outcome == MoveOutcome::kMoved ? 1 : 0;
          finished += *outcome == MoveOutcome::kFinished ? 1 : 0;
          foreign += *outcome == MoveOutcome::kForeign ? 1 : 0;
        }
        return {};
      });
  if (!listed) {
    const ExitCode code = Failed(listed.error(), store.redacted_url);
    if (moved + finished == 0) return code;
    PrintError("stopped after moving " + std::to_string(moved + finished) + " record" +
               (moved + finished == 1 ? "" : "s") + " (they stay moved); run rekey again to go on");
    return code;
  }
  std::cout << nlohmann::ordered_json{{"moved", moved}, {"finished", finished}, {"foreign", foreign},
                                      {"scanned", scanned}}
                   .dump()
            << std::endl;
  if (foreign > 0) {
    PrintError(std::to_string(foreign) + " record" + (foreign == 1 ? "" : "s") + " under " +
               options.key_prefix +
               " hold sessions under a key id that neither --pepper nor a --read-pepper makes for "
               "their key: another application's, or of a pepper already dropped from the ring "
               "(their cookies still work, but Delete(key) cannot reach them); left as they are");
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
              {"rekey", "move every record of old peppers to --pepper (after a pepper change)",
               std::string(kRekeyUsage) + std::string(kStoreOptionsHelp) + std::string(kAtRestKeysHelp),
               Flags({{"page", true, false}}, kStoreFlags), Rekey},
          }};
}

}  // namespace jeff::ctl
