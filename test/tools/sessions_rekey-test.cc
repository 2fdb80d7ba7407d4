// End-to-end: `jeffctl sessions rekey` as a child process, after sessions
// were logged in under an old pepper by this test process, on a real
// redis-server, a real 3-node Redis Cluster and (when built) a real
// PostgreSQL; memcached's refusal; a store that is down.

#include <doctest/doctest.h>

#include "redis/redis_test_support.hpp"
#include "support/at_rest_flow.hpp"
#include "tools/jeffctl_support.hpp"

#include <jeff/detail/record.hpp>
#include <jeff/detail/sealed_record.hpp>
#include <jeff/key_listing.hpp>
#include <jeff/stores/open_store.hpp>
#include <jeff/token.hpp>

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace jeff::test {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "rekey:";
constexpr std::string_view kOtherPrefix = "other:";
constexpr int kKeys = 5;  // keys logged in under the old pepper, two sessions each

Options Ring(std::string pepper, std::vector<std::string> read_peppers, bool sealed,
             std::string_view prefix = kPrefix) {
  Options options;
  options.key_prefix = prefix;
  options.pepper = std::move(pepper);
  options.read_peppers = std::move(read_peppers);
  if (sealed) options.at_rest.keys = {AtRestTestKey(1)};
  return options;
}

std::string UserKey(int i) { return "rekey-user" + std::to_string(i) + "@example.com"; }

// Every key of the store under `prefix`, through its KeyListing.
std::vector<std::string> ListedKeys(Store& store, std::string_view prefix) {
  auto* listing = dynamic_cast<KeyListing*>(&store);
  REQUIRE(listing != nullptr);
  std::vector<std::string> keys;
  REQUIRE(listing->ListKeys(prefix, 3, [&](std::span<const std::string> page) -> Result<void> {
    keys.insert(keys.end(), page.begin(), page.end());
    return {};
  }));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// The record under `store_key`, opened with `at_rest` (REQUIREs that it exists).
Record ReadRecord(Store& store, const std::string& store_key, const AtRestOptions& at_rest, bool* sealed = nullptr) {
  const auto fetched = store.Fetch(store_key);
  REQUIRE(fetched);
  REQUIRE(fetched->has_value());
  std::string plain;
  if (sealed != nullptr) *sealed = IsSealedRecord((*fetched)->value);
  const auto opened = OpenRecord(at_rest, store_key, (*fetched)->value, plain);
  REQUIRE(opened);
  auto record = DecodeRecord(*opened);
  REQUIRE(record);
  return std::move(*record);
}

// Whether `record` lists move `id` among those it absorbed.
bool Absorbed(const Record& record, const MoveId& id) {
  return std::any_of(record.absorbed.begin(), record.absorbed.end(),
                     [&](const StoredAbsorbed& a) { return a.move_id == id; });
}

json RunRekey(const std::string& url, std::vector<std::string> more = {}, EnvChanges env = {}) {
  std::vector<std::string> args = {"sessions", "rekey", "--store", url, "--prefix", std::string(kPrefix),
                                    "--pepper", "new-pepper", "--read-pepper", "old-pepper", "--page", "2"};
  args.insert(args.end(), more.begin(), more.end());
  const ProcessOutcome run = Jeffctl(args, {}, std::move(env));
  CHECK_MESSAGE(run.exit_code == kExitOk, run.err);
  const std::vector<json> lines = JsonLines(run.out);
  REQUIRE(lines.size() == 1);
  return lines[0];
}

// Logs in kKeys keys (two sessions each) under the old pepper, one key under
// the new one, and one bystander under another prefix; runs rekey; checks
// that every old record is frozen and absorbed, that the new pepper alone
// reaches every session, that a second run moves nothing, and that the
// other prefix was not touched.
void RekeyFlow(const std::string& url, bool sealed) {
  CAPTURE(url);
  CAPTURE(sealed);
  const Options old_options = Ring("old-pepper", {}, sealed);
  Sessions old_ring = SessionsAt(url, old_options);
  Sessions new_only = SessionsAt(url, Ring("new-pepper", {}, sealed));
  Sessions other = SessionsAt(url, Ring("old-pepper", {}, sealed, kOtherPrefix));
  std::shared_ptr<Store> store = OpenStore(url);

  std::map<std::string, std::vector<Issued>> issued;
  for (int i = 0; i < kKeys; ++i) {
    for (const char* device : {"laptop", "phone"}) issued[UserKey(i)].push_back(old_ring.Set(UserKey(i), device).value());
  }
  const std::string fresh_key = "rekey-fresh@example.com";
  issued[fresh_key].push_back(new_only.Set(fresh_key).value());
  const Issued bystander = other.Set(UserKey(0)).value();
  const std::string bystander_key = std::string(kOtherPrefix) + KeyId(UserKey(0), "old-pepper");
  const auto bystander_before = store->Fetch(bystander_key).value().value();
  // Before the move the new pepper alone finds nothing of the old keys.
  CHECK(new_only.SessionsForKey(UserKey(0)).value().empty());

  EnvChanges env;
  if (sealed) env["JEFF_AT_REST_KEYS"] = "1:" + Base64UrlEncode(AtRestTestKey(1).key);
  const json first = RunRekey(url, {}, env);
  CHECK(first["moved"] == kKeys);
  CHECK(first["finished"] == 0);
  CHECK(first["foreign"] == 0);
  CHECK(first["scanned"].get<int>() >= kKeys + 1);

  // Every record of the prefix: the old ones frozen towards the new key id
  // and absorbed there; the new ones hold every session.
  const std::vector<std::string> keys = ListedKeys(*store, kPrefix);
  CHECK(keys.size() == 2 * kKeys + 1);
  for (int i = 0; i < kKeys; ++i) {
    CAPTURE(UserKey(i));
    const std::string from = std::string(kPrefix) + KeyId(UserKey(i), "old-pepper");
    const std::string to = std::string(kPrefix) + KeyId(UserKey(i), "new-pepper");
    bool from_sealed = false;
    bool to_sealed = false;
    const Record frozen = ReadRecord(*store, from, old_options.at_rest, &from_sealed);
    const Record target = ReadRecord(*store, to, old_options.at_rest, &to_sealed);
    REQUIRE(frozen.moved_to);
    CHECK(std::string(kPrefix) + frozen.moved_to->kid == to);
    CHECK(Absorbed(target, frozen.moved_to->move_id));
    CHECK(target.sessions.size() == 2);
    // jeffctl seals what it writes when given the application's keys.
    CHECK(from_sealed == sealed);
    CHECK(to_sealed == sealed);
  }

  // The new pepper alone reaches every session: the old cookies check,
  // by-key reads list them, Delete(key) ends them.
  for (const auto& [key, list] : issued) {
    CAPTURE(key);
    for (const Issued& i : list) CHECK(new_only.Check(CookieOf(i)).ok());
    CHECK(new_only.SessionsForKey(key).value().size() == list.size());
  }
  CHECK(new_only.Delete(UserKey(0)).value() == 2);
  for (const Issued& i : issued[UserKey(0)]) CHECK(new_only.Check(CookieOf(i)).status == CheckStatus::kUnknown);
  CHECK(old_ring.SessionsForKey(UserKey(0)).value().empty());

  // A second run moves nothing.
  const json second = RunRekey(url, {}, env);
  CHECK(second["moved"] == 0);
  CHECK(second["finished"] == 0);

  // Another prefix: never listed, never written.
  const auto bystander_after = store->Fetch(bystander_key).value().value();
  CHECK(bystander_after.version == bystander_before.version);
  CHECK(bystander_after.value == bystander_before.value);
  CHECK(other.Check(CookieOf(bystander)).ok());
  CHECK(new_only.Delete(fresh_key).value() == 1);
  for (int i = 1; i < kKeys; ++i) CHECK(new_only.Delete(UserKey(i)).value() == 2);
}

TEST_CASE("rekey moves every record of the old pepper to the new one, once (redis-server, PostgreSQL)") {
  const std::vector<std::string>& urls = LiveStoreUrls();
  for (std::size_t i = 0; i < urls.size(); ++i) {
    if (urls[i].starts_with("memcached")) continue;
    for (const bool sealed : {false, true}) RekeyFlow(urls[i], sealed);
  }
}

TEST_CASE("rekey on a Redis Cluster visits every master") {
  RedisCluster cluster;
  RekeyFlow(cluster.Url(), false);
}

TEST_CASE("rekey finishes a move that a writer left half done, and reports records of no pepper of the ring") {
  const std::string url = LiveStoreUrls()[0];
  Sessions old_ring = SessionsAt(url, Ring("old-pepper", {}, false));
  std::shared_ptr<Store> store = OpenStore(url);
  const std::string key = "rekey-half@example.com";
  const Issued issued = old_ring.Set(key).value();
  const std::string from = std::string(kPrefix) + KeyId(key, "old-pepper");
  const std::string to = std::string(kPrefix) + KeyId(key, "new-pepper");
  // A mover that stopped after its freeze: the record frozen towards the
  // new key id, nothing there yet.
  const auto read = store->Fetch(from).value().value();
  Record record = DecodeRecord(read.value).value();
  record.moved_to = StoredMoveRef{KeyId(key, "new-pepper"), MoveId{7}};
  REQUIRE(store->CompareAndSwap(from, read.version, EncodeRecord(record), std::chrono::hours(1)).value());
  REQUIRE(!store->Fetch(to).value());
  // A record under a pepper the ring does not know.
  Sessions stranger = SessionsAt(url, Ring("stranger-pepper", {}, false));
  const Issued stray = stranger.Set("rekey-stray@example.com").value();

  const ProcessOutcome run = Jeffctl({"sessions", "rekey", "--store", url, "--prefix", std::string(kPrefix),
                                      "--pepper", "new-pepper", "--read-pepper", "old-pepper"});
  CHECK(run.exit_code == kExitOk);
  const std::vector<json> lines = JsonLines(run.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["moved"] == 0);
  CHECK(lines[0]["finished"] == 1);
  CHECK(lines[0]["foreign"] == 1);
  CHECK(run.err.find("1 record under rekey: hold sessions under a key id that neither --pepper nor a "
                     "--read-pepper makes") != std::string::npos);
  Sessions new_only = SessionsAt(url, Ring("new-pepper", {}, false));
  CHECK(new_only.Check(CookieOf(issued)).ok());
  CHECK(new_only.SessionsForKey(key).value().size() == 1);
  CHECK(Absorbed(DecodeRecord(store->Fetch(to).value().value().value).value(), MoveId{7}));
  CHECK(stranger.Check(CookieOf(stray)).ok());
  CHECK(new_only.Delete(key).value() == 1);
  CHECK(stranger.Delete("rekey-stray@example.com").value() == 1);
}

TEST_CASE("rekey refuses memcached: it cannot list keys, records move only lazily there") {
  const std::string url = LiveStoreUrls()[1];
  REQUIRE(url.starts_with("memcached://"));
  Sessions old_ring = SessionsAt(url, Ring("old-pepper", {}, false));
  const Issued issued = old_ring.Set("rekey-memcached@example.com").value();
  CheckFails(Jeffctl({"sessions", "rekey", "--store", url, "--prefix", std::string(kPrefix), "--pepper",
                      "new-pepper", "--read-pepper", "old-pepper"}),
             kExitUsage,
             "cannot list its keys (memcached has no way to enumerate them), so rekey cannot visit its "
             "records. There records move only lazily, on their first write by a server with "
             "Options::move_records");
  CHECK(old_ring.Check(CookieOf(issued)).ok());
}

TEST_CASE("rekey without --read-pepper is a usage error") {
  CheckFails(Jeffctl({"sessions", "rekey", "--store", LiveStoreUrls()[0], "--pepper", "new-pepper"}), kExitUsage,
             "no --read-pepper");
  CheckFails(Jeffctl({"sessions", "rekey", "--store", LiveStoreUrls()[0], "--pepper", "new-pepper",
                      "--read-pepper", "old-pepper", "--page", "0"}),
             kExitUsage, "--page");
}

TEST_CASE("rekey exits 3 when the store is down, and loses nothing") {
  for (OwnServer& server : StartOwnServers()) {
    if (server.scheme == "memcached") continue;
    CAPTURE(server.url);
    Sessions old_ring = SessionsAt(server.setup_url, Ring("old-pepper", {}, false));
    std::vector<Issued> issued;
    for (int i = 0; i < 3; ++i) issued.push_back(old_ring.Set(UserKey(i)).value());
    const std::vector<std::string> args = {"sessions", "rekey", "--store", server.url, "--prefix",
                                           std::string(kPrefix), "--pepper", "new-pepper", "--read-pepper",
                                           "old-pepper"};
    server.process->Pause();
    CheckFails(Jeffctl(args), kExitStoreUnavailable, "store " + server.scheme + "://");
    server.process->Resume();
    for (const Issued& i : issued) CHECK(old_ring.Check(CookieOf(i)).ok());
    Sessions step2 = SessionsAt(server.setup_url, Ring("new-pepper", {"old-pepper"}, false));
    for (int i = 0; i < 3; ++i) CHECK(step2.SessionsForKey(UserKey(i)).value().size() == 1);
    // Up again: the next run moves them all.
    const json run = RunRekey(server.setup_url);
    CHECK(run["moved"] == 3);
    Sessions new_only = SessionsAt(server.setup_url, Ring("new-pepper", {}, false));
    for (const Issued& i : issued) CHECK(new_only.Check(CookieOf(i)).ok());
    server.process->Kill();
    CheckFails(Jeffctl(args), kExitStoreUnavailable, "store " + server.scheme + "://");
  }
}

}  // namespace
}  // namespace jeff::test
