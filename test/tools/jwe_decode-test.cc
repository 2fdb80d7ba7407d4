// End-to-end: `jeffctl jwe decode` on tokens made by the real @auth/core
// (encode) and jose (CompactEncrypt) under node.

#include <doctest/doctest.h>

#include "tools/jeffctl_support.hpp"

#include <string>

namespace jeff::test {
namespace {

using nlohmann::json;

const std::string kSecret = "jeffctl-decode-secret-0123456789abcdefgh";
const std::string kOldSecret = "jeffctl-decode-old-secret-zyxwvutsrqponm";
const std::string kSecureSalt = "__Secure-authjs.session-token";

json Claims() {
  return {{"sub", "user-42"},
          {"name", "Zoë Ünïcødé 😀 日本語 \"quoted\" \\"},
          {"email", "zoë@exämple.com"},
          {"nested", {{"roles", {"admin", "editor"}}, {"n", 1.5}, {"none", nullptr}}}};
}

std::string AuthJsToken(const std::string& secret, const std::string& salt, int max_age = 3600,
                        const json& claims = Claims()) {
  return AuthJsOne({{"op", "encode"}, {"secret", secret}, {"salt", salt}, {"token", claims},
                    {"maxAge", max_age}})["token"];
}

// A token jose writes with `key_hex` (dir), `enc`, around `plaintext`.
std::string JoseToken(const std::string& key_hex, const std::string& enc, const std::string& plaintext) {
  return AuthJsOne({{"op", "joseEncrypt"}, {"key", key_hex}, {"header", {{"alg", "dir"}, {"enc", enc}}},
                    {"plaintext", plaintext}})["token"];
}

void CheckInvalid(const std::vector<std::string>& args, const std::string& token, const std::string& says,
                  EnvChanges env = {}) {
  CAPTURE(token);
  CheckFails(Jeffctl(args, token, std::move(env)), kExitFailure, says);
}

TEST_CASE("decode prints the claims of an @auth/core token") {
  const std::string token = AuthJsToken(kSecret, kAuthJsSalt);
  // Trailing newline and spaces, as `echo` and copy-paste leave them.
  const ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kSecret}, "  " + token + "\n");
  REQUIRE(run.exit_code == kExitOk);
  CHECK(run.err == "");
  const json claims = json::parse(run.out);
  const json expected = Claims();
  for (const auto& [name, value] : expected.items()) CHECK(claims[name] == value);
  CHECK(claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>() == 3600);
  CHECK(claims["iat"].get<std::int64_t>() <= UnixNow());
  CHECK(claims["jti"].get<std::string>().size() == 36);
}

TEST_CASE("decode derives with the salt: the cookie name Auth.js used") {
  const std::string token = AuthJsToken(kSecret, kSecureSalt);
  CheckInvalid({"jwe", "decode", "--secret", kSecret}, token, "invalid token");
  const ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kSecret, "--salt", kSecureSalt}, token);
  CHECK(run.exit_code == kExitOk);
  CHECK(json::parse(run.out)["sub"] == "user-42");
}

TEST_CASE("decode tries every secret (rotation), from flags or JEFF_SECRET") {
  const std::string token = AuthJsToken(kOldSecret, kAuthJsSalt);
  CheckInvalid({"jwe", "decode", "--secret", kSecret}, token, "invalid token");
  CHECK(Jeffctl({"jwe", "decode", "--secret", kSecret, "--secret", kOldSecret}, token).exit_code == kExitOk);
  ProcessOutcome run = Jeffctl({"jwe", "decode"}, token, {{"JEFF_SECRET", kSecret + "," + kOldSecret}});
  CHECK(run.exit_code == kExitOk);
  CHECK(json::parse(run.out)["sub"] == "user-42");
  // --secret replaces JEFF_SECRET rather than adding to it.
  CheckInvalid({"jwe", "decode", "--secret", kSecret}, token, "invalid token", {{"JEFF_SECRET", kOldSecret}});
}

TEST_CASE("decode refuses expired tokens (beyond Auth.js's 15 s), unless --allow-expired") {
  const std::string expired = AuthJsToken(kSecret, kAuthJsSalt, -60);
  CheckInvalid({"jwe", "decode", "--secret", kSecret}, expired, "expired");
  const ProcessOutcome allowed = Jeffctl({"jwe", "decode", "--secret", kSecret, "--allow-expired"}, expired);
  CHECK(allowed.exit_code == kExitOk);
  CHECK(json::parse(allowed.out)["sub"] == "user-42");
  CHECK(allowed.err.find("warning: expired") != std::string::npos);

  // Within the tolerance, as @auth/core's own decode accepts it.
  const std::string just_expired = AuthJsToken(kSecret, kAuthJsSalt, -5);
  CHECK(AuthJsOne({{"op", "decode"}, {"secret", kSecret}, {"salt", kAuthJsSalt}, {"token", just_expired}})
            .contains("payload"));
  CHECK(Jeffctl({"jwe", "decode", "--secret", kSecret}, just_expired).exit_code == kExitOk);
}

TEST_CASE("decode with raw keys (--key-hex) on jose tokens; nbf, enc and payload checks") {
  const json derived = AuthJsOne({{"op", "derive"}, {"secret", kSecret}, {"salt", kAuthJsSalt}, {"enc", "A256GCM"}});
  const std::string gcm_key = derived["key"];
  const json payload = {{"sub", "raw"}, {"exp", UnixNow() + 600}};
  const std::string gcm_token = JoseToken(gcm_key, "A256GCM", payload.dump());

  // A 32-byte key alone means A256GCM; the secret it came from opens the token too.
  ProcessOutcome run = Jeffctl({"jwe", "decode", "--key-hex", gcm_key}, gcm_token);
  CHECK(run.exit_code == kExitOk);
  CHECK(json::parse(run.out) == payload);
  CHECK(Jeffctl({"jwe", "decode", "--secret", kSecret}, gcm_token).exit_code == kExitOk);
  // --enc restricts decode to that enc.
  CheckInvalid({"jwe", "decode", "--secret", kSecret, "--enc", "A256CBC-HS512"}, gcm_token, "invalid token");
  CHECK(Jeffctl({"jwe", "decode", "--secret", kSecret, "--enc", "A256GCM"}, gcm_token).exit_code == kExitOk);

  const std::string cbc_key = AuthJsOne({{"op", "derive"}, {"secret", kSecret}, {"salt", kAuthJsSalt},
                                         {"enc", "A256CBC-HS512"}})["key"];
  const std::string cbc_token = JoseToken(cbc_key, "A256CBC-HS512", payload.dump());
  run = Jeffctl({"jwe", "decode", "--key-hex", gcm_key, "--key-hex", cbc_key}, cbc_token);
  CHECK(run.exit_code == kExitOk);
  CHECK(json::parse(run.out) == payload);

  CheckInvalid({"jwe", "decode", "--key-hex", gcm_key},
               JoseToken(gcm_key, "A256GCM", json{{"sub", "later"}, {"nbf", UnixNow() + 3600}}.dump()),
               "not yet valid");
  CheckInvalid({"jwe", "decode", "--key-hex", gcm_key}, JoseToken(gcm_key, "A256GCM", "[1,2,3]"),
               "not a JSON object");
  CheckInvalid({"jwe", "decode", "--key-hex", gcm_key}, JoseToken(gcm_key, "A256GCM", "not json"),
               "not a JSON object");
  CheckInvalid({"jwe", "decode", "--key-hex", gcm_key},
               JoseToken(gcm_key, "A256GCM", R"({"sub":"x","exp":"tomorrow"})"), "exp is not a number");
}

TEST_CASE("decode: damaged tokens and non-tokens are invalid (exit 1)") {
  const std::string token = AuthJsToken(kSecret, kAuthJsSalt);
  std::string damaged = token;
  const std::size_t in_ciphertext = token.rfind('.') - 5;
  damaged[in_ciphertext] = damaged[in_ciphertext] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {damaged, token.substr(0, token.size() - 1), std::string("hello"),
                                 std::string("a.b.c.d.e"), token + "." + token}) {
    CheckInvalid({"jwe", "decode", "--secret", kSecret}, bad, "invalid token");
  }
}

TEST_CASE("decode: usage errors exit 2") {
  const std::string token = AuthJsToken(kSecret, kAuthJsSalt);
  auto check = [](const std::vector<std::string>& args, const std::string& input, const std::string& says) {
    CheckFails(Jeffctl(args, input), kExitUsage, says);
  };
  check({"jwe", "decode"}, token, "no key");
  check({"jwe", "decode", "--salt", kAuthJsSalt}, token, "no key");
  check({"jwe", "decode", "--secret", "too short"}, token, "secret");
  check({"jwe", "decode", "--key-hex", "abcd"}, token, "--key-hex needs 64 or 128 hex digits");
  check({"jwe", "decode", "--key-hex", std::string(64, 'g')}, token, "--key-hex");
  check({"jwe", "decode", "--secret", kSecret, "--enc", "A128GCM"}, token, "--enc must be");
  check({"jwe", "decode", "--secret", kSecret}, "", "no token on standard input");
  check({"jwe", "decode", "--secret", kSecret}, " \n", "no token on standard input");
  check({"jwe", "decode", "--secret", kSecret, token}, "", "standard input");
}

}  // namespace
}  // namespace jeff::test
