// Interop with the real Auth.js v5 core (@auth/core) and jose, run under node
// (test/jwe/interop/jwe.mjs). Fails, never skips, when node or the pinned
// npm packages are missing: `npm ci --prefix test/jwe/interop`.

#include <doctest/doctest.h>
#include <jeff/claims.hpp>
#include <jeff/jwe.hpp>
#include <jeff/sessions.hpp>
#include <jeff/token.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using jeff::CheckStatus;
using jeff::JweEnc;

const std::string kOldSecret = "interop-old-secret-0123456789abcdefghij";
const std::string kNewSecret = "interop-new-secret-klmnopqrstuvwxyz98765";
const std::vector<std::string> kSalts = {"authjs.session-token", "__Secure-authjs.session-token"};

std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Runs the node helper on `requests`; every answer, in order. Fails the test
// (REQUIRE) when node cannot run the helper.
json Node(const json& requests) {
  const std::string dir = Env("JEFF_JWE_INTEROP_DIR", JEFF_JWE_INTEROP_DIR);
  const std::string node = Env("JEFF_NODE", "node");
  char input_path[] = "/tmp/jeff-jwe-interop-XXXXXX";
  const int fd = mkstemp(input_path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream input(input_path, std::ios::binary);
    input << requests.dump();
  }
  const std::string command = "'" + node + "' '" + dir + "/jwe.mjs' < '" + input_path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot start " << command);
  std::string output;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  std::remove(input_path);
  REQUIRE_MESSAGE(WIFEXITED(status), command << " did not exit normally");
  REQUIRE_MESSAGE(WEXITSTATUS(status) == 0,
                  command << " failed (exit " << WEXITSTATUS(status)
                          << "); is node installed, and were the packages installed with "
                             "`npm ci --prefix test/jwe/interop`?");
  json answers = json::parse(output);
  REQUIRE(answers.is_array());
  REQUIRE(answers.size() == requests.size());
  return answers;
}

json One(const json& request) { return Node(json::array({request}))[0]; }

std::string Hex(const std::vector<std::uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

// What Auth.js apps put in tokens, plus text no ASCII-only path survives.
json UnicodeClaims(const std::string& sub) {
  return {{"sub", sub},
          {"name", "Zoë Ünïcødé 😀 日本語 Ελληνικά \"quoted\" \\ back\u2028line"},
          {"email", "zoë@exämple.com"},
          {"picture", "https://example.com/a.png?x=1&y=2"},
          {"nested", {{"roles", {"admin", "editor"}}, {"n", 1.5}, {"ok", true}, {"none", nullptr}}}};
}

json BigClaims(const std::string& sub) {
  json claims = UnicodeClaims(sub);
  std::string blob;
  while (blob.size() < 6 * 1024) blob += "ünïcødé-" + std::to_string(blob.size()) + ";";
  claims["blob"] = blob;
  return claims;
}

// Cookie header made of the name/value pairs Auth.js's own chunker writes.
std::string AuthJsCookieHeader(const std::string& name, const std::string& token, std::size_t* count = nullptr) {
  const json answer = One({{"op", "chunk"}, {"name", name}, {"value", token}});
  REQUIRE_MESSAGE(answer.contains("cookies"), answer.dump());
  std::string header = "other=1";
  for (const json& cookie : answer["cookies"]) {
    header += "; " + cookie["name"].get<std::string>() + "=" + cookie["value"].get<std::string>();
  }
  if (count != nullptr) *count = answer["cookies"].size();
  return header;
}

// The Cookie header a browser sends after receiving `set_cookie`.
std::string CookieHeader(const std::vector<std::string>& set_cookie) {
  std::string header;
  for (const std::string& sc : set_cookie) {
    if (sc.find("; Max-Age=0") != std::string::npos) continue;
    header += (header.empty() ? "" : "; ") + sc.substr(0, sc.find(';'));
  }
  return header;
}

jeff::Options StatelessOptions(const std::string& cookie_name, std::vector<std::string> secrets) {
  jeff::Options options;
  options.cookie.name = cookie_name;
  options.stateless.secrets = std::move(secrets);
  options.stateless.bearer = true;
  options.touch_interval = std::chrono::seconds(0);
  options.logger = [](std::string_view) {};
  return options;
}

// Claims minus what the issuer stamps itself.
json WithoutStamps(json claims) {
  for (const char* stamp : {"iat", "exp", "jti", "sid", "auth_time"}) claims.erase(stamp);
  return claims;
}

}  // namespace

TEST_SUITE("jwe_interop") {

TEST_CASE("node and the pinned @auth/core and jose are installed") {
  const json versions = One({{"op", "versions"}});
  REQUIRE_MESSAGE(!versions.contains("error"), versions.dump());
  MESSAGE("node " << versions["node"] << ", @auth/core " << versions["@auth/core"] << ", jose " << versions["jose"]);
  CHECK(versions["@auth/core"] == "0.41.3");
  CHECK(versions["jose"] == "6.2.17");
}

TEST_CASE("keys and kids derived here equal Auth.js's") {
  json requests = json::array();
  for (const auto& secret : {kOldSecret, kNewSecret}) {
    for (const auto& salt : kSalts) {
      for (const char* enc : {"A256CBC-HS512", "A256GCM"}) {
        requests.push_back({{"op", "derive"}, {"secret", secret}, {"salt", salt}, {"enc", enc}});
      }
    }
  }
  const json answers = Node(requests);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const json& r = requests[i];
    const JweEnc enc = r["enc"] == "A256GCM" ? JweEnc::kA256Gcm : JweEnc::kA256CbcHs512;
    const auto key = jeff::DeriveAuthJsKey(r["secret"].get<std::string>(), r["salt"].get<std::string>(), enc);
    CAPTURE(r.dump());
    CHECK(Hex(key) == answers[i]["key"]);
    CHECK(jeff::JwkThumbprint(key) == answers[i]["kid"]);
  }
}

TEST_CASE("@auth/core encode -> decoded here, both salts, rotation, unicode, 6 KB") {
  for (const std::string& salt : kSalts) {
    CAPTURE(salt);
    // Issued before the rotation (old secret), after it (new first), and big.
    const json requests = json::array({
        {{"op", "encode"}, {"secret", kOldSecret}, {"salt", salt}, {"token", UnicodeClaims("old-user")}},
        {{"op", "encode"}, {"secret", {kNewSecret, kOldSecret}}, {"salt", salt}, {"token", UnicodeClaims("new-user")}},
        {{"op", "encode"}, {"secret", {kNewSecret, kOldSecret}}, {"salt", salt}, {"token", BigClaims("big-user")}},
    });
    const json encoded = Node(requests);
    json decodes = json::array();
    for (const json& e : encoded) {
      REQUIRE_MESSAGE(e.contains("token"), e.dump());
      decodes.push_back({{"op", "decode"}, {"secret", {kNewSecret, kOldSecret}}, {"salt", salt}, {"token", e["token"]}});
    }
    const json decoded = Node(decodes);

    jeff::Sessions sessions(StatelessOptions(salt, {kNewSecret, kOldSecret}));
    jeff::Sessions new_only(StatelessOptions(salt, {kNewSecret}));
    const std::string other_salt = salt == kSalts[0] ? kSalts[1] : kSalts[0];
    jeff::Sessions wrong_salt(StatelessOptions(other_salt, {kNewSecret, kOldSecret}));
    jeff::JweOptions jwe;
    jwe.secrets = {kNewSecret, kOldSecret};
    jwe.salt = salt;
    const jeff::JweCodec codec(jwe);

    for (std::size_t i = 0; i < encoded.size(); ++i) {
      CAPTURE(i);
      const std::string token = encoded[i]["token"];
      const json& authjs_payload = decoded[i]["payload"];
      REQUIRE(authjs_payload.is_object());
      CHECK(WithoutStamps(authjs_payload) == requests[i]["token"]);

      const auto plaintext = codec.Decrypt(token);
      REQUIRE(plaintext);
      CHECK(json::parse(*plaintext) == authjs_payload);

      std::size_t chunks = 0;
      const std::string header = AuthJsCookieHeader(salt, token, &chunks);
      CHECK(chunks == (i == 2 ? 3u : 1u));
      const auto checked = sessions.Check(header);
      REQUIRE_MESSAGE(checked.ok(), jeff::ToString(checked.status));
      CHECK(checked.session.key == requests[i]["token"]["sub"]);
      CHECK(json::parse(checked.session.claims->json()) == authjs_payload);
      CHECK(checked.session.expires ==
            jeff::TimePoint(std::chrono::seconds(authjs_payload["exp"].get<std::int64_t>())));
      CHECK(sessions.CheckBearer("Bearer " + token).ok());

      // The old secret's token needs the old secret; the salt is the cookie name.
      CHECK(new_only.Check(header).ok() == (i != 0));
      CHECK(wrong_salt.Check(AuthJsCookieHeader(other_salt, token)).status == CheckStatus::kUnknown);
    }
  }
}

TEST_CASE("tokens made here -> @auth/core decode and getToken, jose compactDecrypt") {
  for (const std::string& salt : kSalts) {
    for (const JweEnc enc : {JweEnc::kA256CbcHs512, JweEnc::kA256Gcm}) {
      for (const bool big : {false, true}) {
        CAPTURE(salt);
        CAPTURE(jeff::ToString(enc));
        CAPTURE(big);
        auto options = StatelessOptions(salt, {kNewSecret, kOldSecret});
        options.stateless.enc = enc;
        options.stateless.jwt_callback = [big](jeff::JwtTrigger, std::string_view key, json& claims) {
          const json extra = big ? BigClaims(std::string(key)) : UnicodeClaims(std::string(key));
          for (const auto& [name, value] : extra.items()) claims[name] = value;
          return jeff::Result<void>{};
        };
        jeff::Sessions sessions(options);
        auto issued = sessions.Set("cpp-user", "meta ünïcødé");
        REQUIRE(issued.ok());
        const std::string cookie = CookieHeader(issued->set_cookie);
        CHECK(std::count(cookie.begin(), cookie.end(), '=') == (big ? 3 : 1));  // 3 chunks
        const json claims = json::parse(issued->session.claims->json());
        const auto checked = sessions.Check(cookie);
        REQUIRE(checked.ok());
        std::string token;
        for (std::size_t i = 0; i < 4; ++i) {
          const std::string name = big ? salt + "." + std::to_string(i) : salt;
          const std::string needle = name + "=";
          const std::size_t at = cookie.find(needle);
          if (at == std::string::npos) break;
          const std::size_t end = cookie.find(';', at);
          token += cookie.substr(at + needle.size(), end == std::string::npos ? std::string::npos : end - at - needle.size());
          if (!big) break;
        }
        const auto key = jeff::DeriveAuthJsKey(kNewSecret, salt, enc);
        const json answers = Node(json::array({
            {{"op", "decode"}, {"secret", {kOldSecret, kNewSecret}}, {"salt", salt}, {"token", token}},
            {{"op", "getToken"}, {"secret", kNewSecret}, {"salt", salt}, {"cookieName", salt}, {"cookie", cookie}},
            {{"op", "getToken"},
             {"secret", kNewSecret},
             {"salt", salt},
             {"cookieName", salt},
             {"authorization", "Bearer " + token}},
            {{"op", "joseDecrypt"}, {"key", Hex(key)}, {"token", token}},
        }));
        CHECK_MESSAGE(answers[0]["payload"] == claims, answers[0].dump());
        CHECK_MESSAGE(answers[1]["payload"] == claims, answers[1].dump());
        CHECK_MESSAGE(answers[2]["payload"] == claims, answers[2].dump());
        REQUIRE_MESSAGE(answers[3].contains("plaintext"), answers[3].dump());
        CHECK(json::parse(answers[3]["plaintext"].get<std::string>()) == claims);
        CHECK(answers[3]["header"] ==
              json({{"alg", "dir"}, {"enc", std::string(jeff::ToString(enc))}, {"kid", jeff::JwkThumbprint(key)}}));
        CHECK(claims["meta"] == "meta ünïcødé");
      }
    }
  }
}

TEST_CASE("short AUTH_SECRET (Auth.js takes any): read and written by explicit opt-in only") {
  // Hand-written secrets of older Auth.js apps: 6 characters, and a rotated pair.
  const std::string kShort = "hunter";
  const std::string kShortOld = "s3cr3t";
  for (const std::string& salt : kSalts) {
    CAPTURE(salt);
    const json requests = json::array({
        {{"op", "encode"}, {"secret", kShort}, {"salt", salt}, {"token", UnicodeClaims("short-user")}},
        {{"op", "encode"}, {"secret", kShortOld}, {"salt", salt}, {"token", UnicodeClaims("before-rotation")}},
        {{"op", "encode"}, {"secret", {kShort, kShortOld}}, {"salt", salt}, {"token", UnicodeClaims("after-rotation")}},
    });
    const json encoded = Node(requests);
    for (const json& e : encoded) REQUIRE_MESSAGE(e.contains("token"), e.dump());

    // Refused without the opt-in, by the codec and by Sessions, naming it.
    for (const std::vector<std::string>& secrets :
         {std::vector<std::string>{kShort}, {kShort, kShortOld}, {kNewSecret, kShortOld}}) {
      jeff::JweOptions jwe;
      jwe.secrets = secrets;
      jwe.salt = salt;
      CHECK_THROWS_WITH_AS(jeff::JweCodec{jwe}, doctest::Contains("allow_weak_secrets"), std::invalid_argument);
      CHECK_THROWS_WITH_AS(jeff::Sessions{StatelessOptions(salt, secrets)}, doctest::Contains("allow_weak_secrets"),
                           std::invalid_argument);
    }

    // With it: each token reads as @auth/core's own decode reads it.
    jeff::JweOptions jwe;
    jwe.secrets = {kShort, kShortOld};
    jwe.salt = salt;
    jwe.allow_weak_secrets = true;
    const jeff::JweCodec codec(jwe);
    auto options = StatelessOptions(salt, {kShort, kShortOld});
    options.stateless.allow_weak_secrets = true;
    std::vector<std::string> warnings;
    options.logger = [&warnings](std::string_view line) { warnings.emplace_back(line); };
    jeff::Sessions sessions(options);
    CHECK(warnings.size() == 1);
    auto new_only = StatelessOptions(salt, {kShort});
    new_only.stateless.allow_weak_secrets = true;
    jeff::Sessions short_only(new_only);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      CAPTURE(i);
      const std::string token = encoded[i]["token"];
      const json authjs = One({{"op", "decode"}, {"secret", {kShort, kShortOld}}, {"salt", salt}, {"token", token}});
      REQUIRE(authjs["payload"].is_object());
      const auto plaintext = codec.Decrypt(token);
      REQUIRE(plaintext);
      CHECK(json::parse(*plaintext) == authjs["payload"]);
      const auto checked = sessions.Check(AuthJsCookieHeader(salt, token));
      REQUIRE_MESSAGE(checked.ok(), jeff::ToString(checked.status));
      CHECK(checked.session.key == requests[i]["token"]["sub"]);
      // Before the rotation, the old secret's token needs the old secret.
      CHECK(short_only.Check(AuthJsCookieHeader(salt, token)).ok() == (i != 1));
    }

    // And the other way: jeff's token with the short secret reads in @auth/core.
    auto issued = sessions.Set("cpp-short-user", "");
    REQUIRE(issued.ok());
    const std::string cookie = CookieHeader(issued->set_cookie);
    const std::string token = cookie.substr(cookie.find('=') + 1);
    const json claims = json::parse(issued->session.claims->json());
    const json answers = Node(json::array({
        {{"op", "decode"}, {"secret", kShort}, {"salt", salt}, {"token", token}},
        {{"op", "getToken"}, {"secret", {kShort, kShortOld}}, {"salt", salt}, {"cookieName", salt}, {"cookie", cookie}},
        {{"op", "decode"}, {"secret", kShortOld}, {"salt", salt}, {"token", token}},
    }));
    CHECK_MESSAGE(answers[0]["payload"] == claims, answers[0].dump());
    CHECK_MESSAGE(answers[1]["payload"] == claims, answers[1].dump());
    CHECK_MESSAGE(answers[2].contains("error"), answers[2].dump());  // the first secret encrypts
  }
}

TEST_CASE("jose-made A256GCM tokens decode here") {
  const std::string salt = kSalts[0];
  const auto derived = jeff::DeriveAuthJsKey(kNewSecret, salt, JweEnc::kA256Gcm);
  std::vector<std::uint8_t> raw(32);
  jeff::RandomBytes(raw);
  const std::int64_t exp =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
  const json claims = {{"sub", "jose-user"}, {"exp", exp}, {"name", "Zoë 😀"}};
  const json answers = Node(json::array({
      {{"op", "joseEncrypt"}, {"key", Hex(derived)}, {"header", {{"alg", "dir"}, {"enc", "A256GCM"}}}, {"plaintext", claims.dump()}},
      {{"op", "joseEncrypt"},
       {"key", Hex(derived)},
       {"header", {{"alg", "dir"}, {"enc", "A256GCM"}, {"kid", jeff::JwkThumbprint(derived)}}},
       {"plaintext", claims.dump()}},
      {{"op", "joseEncrypt"}, {"key", Hex(raw)}, {"header", {{"alg", "dir"}, {"enc", "A256GCM"}}}, {"plaintext", claims.dump()}},
      {{"op", "joseEncrypt"},
       {"key", Hex(derived)},
       {"header", {{"alg", "dir"}, {"enc", "A256GCM"}, {"typ", "JWT"}}},
       {"plaintext", claims.dump()}},
  }));
  auto options = StatelessOptions(salt, {kNewSecret});
  options.stateless.keys = {std::string(raw.begin(), raw.end())};
  jeff::Sessions sessions(options);
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    REQUIRE_MESSAGE(answers[i].contains("token"), answers[i].dump());
    const auto checked = sessions.Check(salt + "=" + answers[i]["token"].get<std::string>());
    REQUIRE(checked.ok());
    CHECK(checked.session.key == "jose-user");
    CHECK(json::parse(checked.session.claims->json()) == claims);
  }
  // A header member outside alg/enc/kid is refused, even from jose.
  CHECK(sessions.Check(salt + "=" + answers[3]["token"].get<std::string>()).status == CheckStatus::kUnknown);
}

TEST_CASE("speed: decoding here vs @auth/core decode, same token") {
  const std::string salt = kSalts[0];
  json token_claims = {{"sub", "user-1234"}, {"name", "Jane Doe"}, {"email", "jane@example.com"},
                       {"picture", "https://example.com/jane.png"}};
  const std::string token = One({{"op", "encode"}, {"secret", kNewSecret}, {"salt", salt}, {"token", token_claims}})["token"];
  const int node_iterations = 2000;
  const json bench = One({{"op", "benchDecode"}, {"secret", kNewSecret}, {"salt", salt}, {"token", token},
                          {"iterations", node_iterations}});
  REQUIRE_MESSAGE(bench.contains("ns_per_decode"), bench.dump());
  const double authjs_ns = bench["ns_per_decode"];

  jeff::JweOptions jwe;
  jwe.secrets = {kNewSecret};
  jwe.salt = salt;
  const jeff::JweCodec codec(jwe);
  jeff::Sessions sessions(StatelessOptions(salt, {kNewSecret}));
  const std::string header = salt + "=" + token;
  std::string plaintext;
  const int iterations = 50000;
  for (int i = 0; i < 1000; ++i) REQUIRE(codec.Decrypt(token, plaintext));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    if (!codec.Decrypt(token, plaintext)) FAIL("decrypt failed");
  }
  const double decrypt_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / iterations;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    if (!sessions.Check(header).ok()) FAIL("check failed");
  }
  const double check_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / iterations;
  start = std::chrono::steady_clock::now();
  const int encrypt_iterations = 20000;
  for (int i = 0; i < encrypt_iterations; ++i) {
    if (!codec.Encrypt(plaintext)) FAIL("encrypt failed");
  }
  const double encrypt_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / encrypt_iterations;
  MESSAGE("token " << token.size() << " chars: JweCodec::Decrypt " << decrypt_ns << " ns, Sessions::Check "
                   << check_ns << " ns, JweCodec::Encrypt " << encrypt_ns << " ns; @auth/core decode "
                   << authjs_ns << " ns (" << authjs_ns / check_ns << "x Check)");
  // Timing is informative here (shared machines, sanitizer builds); the
  // benchmark suite owns the pass/fail bar.
  WARN(authjs_ns / check_ns > 50);
}

}  // TEST_SUITE
