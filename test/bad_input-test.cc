// The bad-input catalogue: hostile inputs at every boundary of the library,
// each with its documented outcome. None may crash, none may grant a session.

#include <doctest/doctest.h>
#include <jeff/jwe.hpp>
#include <jeff/detail/record.hpp>
#include <jeff/sessions.hpp>
#include <jeff/store_url.hpp>
#include <jeff/stores/memory/memory_store.hpp>
#include <jeff/stores/open_store.hpp>

#include <functional>
#include <string>
#include <vector>

using jeff::CheckStatus;
using namespace std::chrono_literals;

namespace {

const std::string kKid = "K9gGyX8OAK8aH8Myj6djqQ";             // a canonical 22-char kid
const std::string kTok = std::string(42, 'A') + "A";           // a canonical 43-char token
const std::string kValid = kKid + "." + kTok;                  // well-formed, unknown


struct CookieCase {
  std::string header;
  CheckStatus expected;
};

}  // namespace

TEST_CASE("catalogue: Cookie headers") {
  const std::vector<CookieCase> cases = {
      {"", CheckStatus::kAbsent},
      {";", CheckStatus::kAbsent},
      {";;;;", CheckStatus::kAbsent},
      {"=", CheckStatus::kAbsent},
      {"jeff_session", CheckStatus::kAbsent},
      {"JEFF_SESSION=" + kValid, CheckStatus::kAbsent},
      {"jeff_session2=" + kValid, CheckStatus::kAbsent},
      {"xjeff_session=" + kValid, CheckStatus::kAbsent},
      {"jeff_sessio=" + kValid, CheckStatus::kAbsent},
      {std::string("jeff_session\0=", 14) + kValid, CheckStatus::kAbsent},
      {"other=1; another=2", CheckStatus::kAbsent},
      {std::string(8192, ';'), CheckStatus::kAbsent},
      {std::string(8192, 'a'), CheckStatus::kAbsent},
      {"jeff_session=", CheckStatus::kMalformed},
      {"jeff_session=\"\"", CheckStatus::kMalformed},
      {"jeff_session=\"", CheckStatus::kMalformed},
      {"jeff_session=x", CheckStatus::kMalformed},
      {"jeff_session=" + kKid, CheckStatus::kMalformed},
      {"jeff_session=" + kKid + ".", CheckStatus::kMalformed},
      {"jeff_session=." + kTok, CheckStatus::kMalformed},
      {"jeff_session=" + kKid + kTok, CheckStatus::kMalformed},
      {"jeff_session=" + kKid + ".." + kTok.substr(1), CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok + "A", CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok.substr(1), CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "=" + kTok, CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok.substr(0, 42) + "B", CheckStatus::kMalformed},  // trailing bits
      {"jeff_session=" + kKid.substr(0, 21) + "R." + kTok, CheckStatus::kMalformed},     // trailing bits
      {"jeff_session=" + kKid + "." + kTok.substr(0, 42) + "=", CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok.substr(0, 42) + "+", CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok.substr(0, 42) + "/", CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok.substr(0, 41) + "%41", CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + kTok + " ", CheckStatus::kUnknown},  // trimmed
      {"jeff_session=" + kKid + "." + std::string(42, 'A') + "\x80", CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + std::string(42, 'A') + std::string("\0", 1), CheckStatus::kMalformed},
      {"jeff_session=" + kKid + "." + std::string(42, 'A') + "\r", CheckStatus::kMalformed},
      {"jeff_session=" + std::string(4097, 'A'), CheckStatus::kMalformed},
      {"jeff_session=" + std::string(100000, 'A'), CheckStatus::kMalformed},
      {"jeff_session=" + std::string(66, '.'), CheckStatus::kMalformed},
      {"jeff_session=" + std::string(66, '-'), CheckStatus::kMalformed},
      {"jeff_session=" + kValid + "; jeff_session=garbage", CheckStatus::kUnknown},
      {"jeff_session=garbage; jeff_session=" + kValid, CheckStatus::kMalformed},
      {"  jeff_session  =  " + kValid + "  ", CheckStatus::kUnknown},
      {"jeff_session=\"" + kValid + "\"", CheckStatus::kUnknown},
      {"\tjeff_session=" + kValid, CheckStatus::kUnknown},
      {"a=b;jeff_session=" + kValid + ";c=d", CheckStatus::kUnknown},
      {"jeff_session=" + kValid, CheckStatus::kUnknown},
      {"jeff_session=" + std::string(22, 'A') + "." + kTok, CheckStatus::kUnknown},
      {"jeff_session=" + std::string(22, '_') + "." + kTok, CheckStatus::kMalformed},  // trailing bits
      {std::string(5000, ' ') + "jeff_session=" + kValid, CheckStatus::kUnknown},
      {"jeff_session=" + kValid + ";" + std::string(10000, 'x'), CheckStatus::kUnknown},
  };
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  jeff::Sessions sessions(options);
  for (const CookieCase& c : cases) {
    CAPTURE(c.header.substr(0, 120));
    const auto result = sessions.Check(c.header);
    CHECK(result.status == c.expected);
    CHECK_FALSE(result.ok());
  }
}

TEST_CASE("catalogue: stored records are corrupt, never sessions") {
  jeff::Record valid;
  valid.key = "victim";
  valid.sessions.resize(1);
  valid.sessions[0].expires_ms = jeff::kMaxUnixMillis;
  const std::string good = jeff::EncodeRecord(valid);
  std::vector<std::string> records = {
      "",
      std::string("\xc0", 1),                      // nil
      std::string("\x90", 1),                      // []
      std::string("\x93\x01\xc4\x00\x90", 5) + "x",  // trailing byte
      std::string("\x93\x02\xc4\x00\x90", 5),      // version 2
      std::string("\x93\x00\xc4\x00\x90", 5),      // version 0
      std::string("\x93\xff\xc4\x00\x90", 5),      // version -1
      std::string("\x93\x01\xa0\x90", 4),          // key as str, not bin
      std::string("\x93\x01\xc4\x00\x80", 5),      // sessions as map
      std::string("\x94\x01\xc4\x00\x90\x90", 6),  // four elements
      std::string("\x92\x01\xc4\x00", 4),          // two elements
      std::string("\x93\x01\xc4\x00\x91\x90", 6),  // empty session
      std::string("\x93\x01\xc4\x00\x91\xc0", 6),  // nil session
      std::string("\x93\x01\xc4\xff", 4),          // key length past the end
      std::string("\x93\x01\xc6\xff\xff\xff\xff", 7),   // 4 GiB key declared
      std::string("\x93\x01\xc4\x00\xdd\xff\xff\xff\xff", 9),  // 4G sessions declared
      std::string(100000, '\x91'),                 // nesting bomb
      std::string("\xdf\xff\xff\xff\xff", 5),     // huge map
      "hello world",
      good + good,
  };
  for (std::size_t cut = 0; cut < good.size(); cut += 7) records.push_back(good.substr(0, cut));
  for (std::size_t at = 0; at < good.size(); at += 5) {
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x80);
    records.push_back(flipped);
  }
  jeff::Options options;
  auto store = std::make_shared<jeff::MemoryStore>();
  options.store = store;
  jeff::Sessions sessions(options);
  const std::string store_key = "jeff:" + jeff::KeyId("victim");
  for (const std::string& bytes : records) {
    CAPTURE(bytes.size());
    auto decoded = jeff::DecodeRecord(bytes);
    if (decoded.ok()) continue;  // a flipped bit may still give a valid record
    CHECK(decoded.error() == jeff::Errc::kStoreCorrupt);
    REQUIRE(store->Erase(store_key).ok());
    REQUIRE(store->CompareAndSwap(store_key, std::nullopt, bytes, 1h).value());
    auto checked = sessions.Check("jeff_session=" + jeff::KeyId("victim") + "." + kTok);
    CHECK(checked.status == CheckStatus::kStoreError);
    CHECK(checked.error == jeff::Errc::kStoreCorrupt);
    CHECK(sessions.SessionsForKey("victim").error() == jeff::Errc::kStoreCorrupt);
    CHECK(sessions.Set("victim", "").error() == jeff::Errc::kStoreCorrupt);
    // The corrupt value is left for the operator to inspect, not overwritten.
    CHECK(store->Fetch(store_key).value()->value == bytes);
  }
}

TEST_CASE("catalogue: store URLs") {
  const std::vector<std::string> invalid = {
      "",
      "redis",
      "redis:",
      "redis:/",
      "://host",
      "redis//host:1",
      "redis://host:0",
      "redis://host:65536",
      "redis://host:99999999999999999999",
      "redis://host:-1",
      "redis://host:port",
      "redis://host:6379x",
      "redis://:@",
      "redis://host:6379,",
      "redis://,host:6379",
      "redis://[::1",
      "redis://::1:6379",
      "redis://ho st:6379",
      "redis://host%zz:6379",
      "redis://host:6379/%",
      "redis://host:6379?%zz=1",
      "redis://host:6379?=1",
      "redis://host:6379#frag",
      std::string("redis://ho\0st:6379", 18),
      "redis://host\r\n:6379",
      "memcached://h:1,,h:2",
      "1redis://host",
      "re dis://host",
  };
  for (const std::string& url : invalid) {
    CAPTURE(url);
    auto parsed = jeff::ParseStoreUrl(url);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.error() == jeff::Errc::kInvalidArgument);
    CHECK_THROWS_AS(jeff::OpenStore(url), std::invalid_argument);
  }
  const std::vector<std::string> unusable = {
      "ftp://host",
      "memory://host:1",
      "memory:///path",
      "memory://?shards=0",
      "memory://?shards=abc",
      "memory://?shards=99999999",
      "memory://?unknown=1",
      "memory://?sweep_interval=-1s",
      "memory://?sweep_interval=1h",
      "memory://?max_value_bytes=-5",
  };
  for (const std::string& url : unusable) {
    CAPTURE(url);
    CHECK_THROWS_AS(jeff::OpenStore(url), std::invalid_argument);
  }
}

TEST_CASE("catalogue: option values") {
  const std::vector<std::function<void(jeff::Options&)>> edits = {
      [](jeff::Options& o) { o.store = nullptr; },
      [](jeff::Options& o) { o.cookie.name = ""; },
      [](jeff::Options& o) { o.cookie.name = "a b"; },
      [](jeff::Options& o) { o.cookie.name = "a;b"; },
      [](jeff::Options& o) { o.cookie.name = "a=b"; },
      [](jeff::Options& o) { o.cookie.name = "caf\xc3\xa9"; },
      [](jeff::Options& o) { o.cookie.name = std::string("a\0b", 3); },
      [](jeff::Options& o) { o.cookie.name = "__Host-x"; o.cookie.path = "/app"; },
      [](jeff::Options& o) { o.cookie.name = "__Host-x"; o.cookie.domain = "example.com"; },
      [](jeff::Options& o) { o.cookie.name = "__host-x"; o.cookie.domain = "example.com"; },
      [](jeff::Options& o) { o.cookie.name = "__Secure-x"; o.insecure = true; },
      [](jeff::Options& o) { o.cookie.path = "app"; },
      [](jeff::Options& o) { o.cookie.path = "/a;b"; },
      [](jeff::Options& o) { o.cookie.path = "/a\r\nSet-Cookie: x=y"; },
      [](jeff::Options& o) { o.cookie.domain = "a;b"; },
      [](jeff::Options& o) { o.cookie.domain = "a b"; },
      [](jeff::Options& o) { o.cookie.domain = "a\nb"; },
      [](jeff::Options& o) { o.cookie.secure = false; },
      [](jeff::Options& o) { o.cookie.same_site = jeff::SameSite::kNone; o.insecure = true; },
      [](jeff::Options& o) { o.max_age = -1s; },
      [](jeff::Options& o) { o.max_age = 0s; o.session_cookie_lifetime = 0s; },
      [](jeff::Options& o) { o.idle_timeout = -1s; },
      [](jeff::Options& o) { o.touch_interval = -1s; },
      [](jeff::Options& o) { o.idle_timeout = 60s; o.touch_interval = 60s; },
      [](jeff::Options& o) { o.idle_timeout = 60s; o.touch_interval = 0s; },
      [](jeff::Options& o) { o.key_prefix = ""; },
      [](jeff::Options& o) { o.key_prefix = "a b"; },
      [](jeff::Options& o) { o.key_prefix = std::string(201, 'p'); },
      [](jeff::Options& o) { o.key_prefix = "pre\x01"; },
      [](jeff::Options& o) { o.cas_attempts = 0; },
      [](jeff::Options& o) { o.cas_attempts = -3; },
      [](jeff::Options& o) { o.cas_backoff = -1ms; },
      [](jeff::Options& o) { o.max_key_bytes = 0; },
      [](jeff::Options& o) { o.max_age = std::chrono::hours(24 * 365 * 300); },
      [](jeff::Options& o) { o.max_age = jeff::kMaxCookieLifetime + 1s; },
      [](jeff::Options& o) { o.session_cookie_lifetime = std::chrono::seconds::max(); },
      [](jeff::Options& o) { o.idle_timeout = std::chrono::seconds::max(); },
      [](jeff::Options& o) { o.touch_interval = std::chrono::seconds::max(); },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    CAPTURE(i);
    jeff::Options o;
    o.store = std::make_shared<jeff::MemoryStore>();
    o.logger = [](std::string_view) {};
    edits[i](o);
    CHECK_THROWS_AS(jeff::Sessions(std::move(o)), std::invalid_argument);
  }
}

TEST_CASE("catalogue: API arguments") {
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  jeff::Sessions sessions(options);
  struct ArgCase {
    std::function<std::error_code()> call;
    jeff::Errc expected;
  };
  const std::vector<ArgCase> cases = {
      {[&] { return sessions.Set("", "").error(); }, jeff::Errc::kInvalidArgument},
      {[&] { return sessions.Set(std::string(1025, 'k'), "").error(); }, jeff::Errc::kInvalidArgument},
      {[&] { return sessions.Set("k", std::string(4097, 'm')).error(); }, jeff::Errc::kInvalidArgument},
      {[&] { return sessions.Delete("").error(); }, jeff::Errc::kInvalidArgument},
      {[&] { return sessions.Delete("", {}).error(); }, jeff::Errc::kInvalidArgument},
      {[&] { return sessions.SessionsForKey("").error(); }, jeff::Errc::kInvalidArgument},
      {[&] { return sessions.Rotate("").error(); }, jeff::Errc::kSessionNotFound},
      {[&] { return sessions.Rotate("jeff_session=" + kValid).error(); }, jeff::Errc::kSessionNotFound},
      {[&] { return sessions.Rotate("jeff_session=garbage").error(); }, jeff::Errc::kSessionNotFound},
  };
  for (const ArgCase& c : cases) {
    CHECK(c.call() == c.expected);
  }
  for (const char* id : {"", "not-a-uuid", "00000000-0000-0000-0000-00000000000", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
                         "000000000000-0000-0000-0000-00000000", "00000000-0000-0000-0000-0000000000000"}) {
    CAPTURE(id);
    CHECK_FALSE(jeff::ParseSessionId(id).has_value());
  }
}

TEST_CASE("catalogue: JWE tokens are refused as one opaque outcome") {
  jeff::JweOptions o;
  o.secrets = {"catalogue secret, at least thirty-two bytes long"};
  o.salt = "authjs.session-token";
  const jeff::JweCodec codec(o);
  const std::string good = codec.Encrypt(R"({"sub":"alice"})").value();
  REQUIRE(codec.Decrypt(good).has_value());
  const auto dot = [&](int n) {  // position of the n-th '.'
    std::size_t at = 0;
    for (int i = 0; i <= n; ++i) at = good.find('.', at + (i ? 1 : 0));
    return at;
  };
  const std::string header = good.substr(0, dot(0));
  const std::string rest = good.substr(dot(0));
  auto b64 = [](std::string_view json) { return jeff::Base64UrlEncode(json); };
  std::vector<std::string> tokens = {
      "",
      ".",
      "....",
      ".....",
      "a.b.c.d.e",
      good + ".",
      good + "=",
      "." + good,
      good.substr(0, good.size() - 1),
      good.substr(0, dot(3)),
      good.substr(0, dot(2)),
      b64(R"({"alg":"none","enc":"A256CBC-HS512"})") + rest,
      b64(R"({"alg":"RSA-OAEP","enc":"A256CBC-HS512"})") + rest,
      b64(R"({"alg":"A256KW","enc":"A256CBC-HS512"})") + rest,
      b64(R"({"alg":"dir","enc":"A128CBC-HS256"})") + rest,
      b64(R"({"alg":"dir","enc":"A256CBC-HS512","zip":"DEF"})") + rest,
      b64(R"({"alg":"dir","enc":"A256CBC-HS512","crit":["exp"]})") + rest,
      b64(R"({"alg":"dir","enc":"A256CBC-HS512","alg":"dir"})") + rest,
      b64(R"({"alg":"dir"})") + rest,
      b64(R"(["alg","dir"])") + rest,
      b64("not json") + rest,
      header + "=" + rest,
      header + rest.substr(0, 1) + "AAAA" + rest.substr(1),  // non-empty encrypted key
      good.substr(0, dot(1) + 1) + "AAAA" + good.substr(dot(2)),  // IV too short
      good.substr(0, dot(3) + 1) + "AAAA",                          // tag too short
      good.substr(0, dot(3) + 1) + std::string(43, 'A'),            // wrong tag
      std::string(70000, 'A'),
      good + std::string(70000, 'A'),
  };
  for (std::size_t at = 0; at < good.size(); at += 9) {  // one character changed anywhere
    std::string flipped = good;
    flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
    if (good[at] != '.') tokens.push_back(flipped);
  }
  jeff::JweOptions other = o;
  other.secrets = {"another secret, also thirty-two bytes or more"};
  tokens.push_back(jeff::JweCodec(other).Encrypt(R"({"sub":"mallory"})").value());
  jeff::JweOptions wrong_salt = o;
  wrong_salt.salt = "__Secure-authjs.session-token";
  tokens.push_back(jeff::JweCodec(wrong_salt).Encrypt(R"({"sub":"mallory"})").value());
  for (const std::string& token : tokens) {
    CAPTURE(token.substr(0, 120));
    CHECK_FALSE(codec.Decrypt(token).has_value());
  }
}
