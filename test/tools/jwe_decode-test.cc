// End-to-end: `jeffctl jwe decode` on tokens made by the real @auth/core
// (encode) and jose (CompactEncrypt) under node.

#include <doctest/doctest.h>

#include "tools/jeffctl_support.hpp"

#include <jeff/cookie.hpp>
#include <jeff/sessions.hpp>
#include <jeff/token.hpp>

#include <string>

namespace jeff::test {
namespace {

using nlohmann::json;

const std::string kSecret = "jeffctl-decode-secret-0123456789abcdefgh";
const std::string kOldSecret = "jeffctl-decode-old-secret-zyxwvutsrqponm";
const std::string kSecureSalt = "__Secure-authjs.session-token";
// Short secrets, as older Auth.js apps have them (Auth.js takes any non-empty one).
const std::string kShortSecret = "hunter";
const std::string kShortOldSecret = "s3cr3t";
const std::string kWeakWarning = "warning: 1 of 1 secrets are shorter than 32 bytes";

json Claims() {
  return {{"sub", "user-42"},
          {"name", "Zoë Ünïcødé 😀 日本語 \"quoted\" \\"},
          {"email", "zoë@exämple.com"},
          {"nested", {{"roles", {"admin", "editor"}}, {"n", 1.5}, {"none", nullptr}}}};
}

std::string AuthJsToken(const json& secret, const std::string& salt, int max_age = 3600,
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
  CHECK(run.err == "jeffctl: opened with salt authjs.session-token\n");
  const json claims = json::parse(run.out);
  const json expected = Claims();
  for (const auto& [name, value] : expected.items()) CHECK(claims[name] == value);
  CHECK(claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>() == 3600);
  CHECK(claims["iat"].get<std::int64_t>() <= UnixNow());
  CHECK(claims["jti"].get<std::string>().size() == 36);
}

TEST_CASE("decode derives with the salt: --salt, else jeff's and Auth.js's cookie names in turn") {
  const std::string token = AuthJsToken(kSecret, kSecureSalt);
  ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kSecret, "--salt", kSecureSalt}, token);
  CHECK(run.exit_code == kExitOk);
  CHECK(run.err == "");  // the salt was given: nothing to say
  CHECK(json::parse(run.out)["sub"] == "user-42");
  run = Jeffctl({"jwe", "decode", "--secret", kSecret}, token);
  CHECK(run.exit_code == kExitOk);
  CHECK(run.err == "jeffctl: opened with salt " + kSecureSalt + "\n");
  CHECK(json::parse(run.out)["sub"] == "user-42");
  // A --salt that is not the token's: only that one is tried.
  CheckInvalid({"jwe", "decode", "--secret", kSecret, "--salt", kAuthJsSalt}, token, "invalid token");
  // No default fits a token made with another cookie name; the message lists those tried.
  CheckInvalid({"jwe", "decode", "--secret", kSecret}, AuthJsToken(kSecret, "my-app.session"),
               "tried salts " + CookieOptions{}.name + ", authjs.session-token, " + kSecureSalt);
  CheckFails(Jeffctl({"jwe", "decode", "--secret", kSecret, "--salt", ""}, token), kExitUsage, "--salt is empty");
}

TEST_CASE("decode opens a token of an app on jeff's defaults with only --secret") {
  Options options;  // jeff's default cookie name, stateless
  options.stateless.secrets = {kSecret};
  options.logger = [](std::string_view) {};
  Sessions sessions(options);
  const Issued issued = sessions.Set("app-user", "").value();
  const std::string& set_cookie = issued.set_cookie.at(0);
  const std::string prefix = CookieOptions{}.name + "=";
  REQUIRE(set_cookie.starts_with(prefix));
  const std::string token = set_cookie.substr(prefix.size(), set_cookie.find(';') - prefix.size());
  const ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kSecret}, token);
  REQUIRE(run.exit_code == kExitOk);
  CHECK(run.err == "jeffctl: opened with salt " + CookieOptions{}.name + "\n");
  const json claims = json::parse(run.out);
  CHECK(claims["sub"] == "app-user");
  CHECK(claims["sid"] == FormatSessionId(issued.session.id));
  // Raw keys alone name no salt.
  const std::string key_hex = AuthJsOne({{"op", "derive"}, {"secret", kSecret}, {"salt", CookieOptions{}.name},
                                         {"enc", "A256CBC-HS512"}})["key"];
  const ProcessOutcome raw = Jeffctl({"jwe", "decode", "--secret", kOldSecret, "--key-hex", key_hex}, token);
  CHECK(raw.exit_code == kExitOk);
  CHECK(raw.err == "");
}

TEST_CASE("decode: @auth/core tokens of a short secret open only with --allow-weak-secret") {
  const std::string token = AuthJsToken(kShortSecret, kAuthJsSalt);
  const std::string secure_token = AuthJsToken(kShortSecret, kSecureSalt);
  // Auth.js's rotation: the new secret first encrypts; both decrypt.
  const std::string rotated_old = AuthJsToken(json::array({kShortOldSecret}), kAuthJsSalt);
  const std::string rotated_new = AuthJsToken(json::array({kShortSecret, kShortOldSecret}), kAuthJsSalt);

  for (const std::string& t : {token, secure_token}) {
    CheckFails(Jeffctl({"jwe", "decode", "--secret", kShortSecret}, t), kExitUsage,
               "a JWE secret is shorter than 32 bytes. Auth.js accepts any AUTH_SECRET: to read or make "
               "tokens of an app whose secret is short, pass --allow-weak-secret");
    const ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kShortSecret, "--allow-weak-secret"}, t);
    REQUIRE_MESSAGE(run.exit_code == kExitOk, run.err);
    CHECK(json::parse(run.out)["sub"] == "user-42");
    CHECK(run.err.find("jeffctl: " + kWeakWarning) == 0);
  }
  ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kShortSecret, "--allow-weak-secret", "--salt", kSecureSalt},
                               secure_token);
  CHECK(run.exit_code == kExitOk);
  CHECK(run.err == "jeffctl: " + kWeakWarning + " (accepted by --allow-weak-secret); a short secret can be "
                   "guessed offline from one token\n");

  // The pair: every secret needs the opt-in, whether flags or JEFF_SECRET give them.
  for (const std::string& t : {rotated_old, rotated_new}) {
    CheckFails(Jeffctl({"jwe", "decode", "--secret", kShortSecret, "--secret", kShortOldSecret}, t), kExitUsage,
               "--allow-weak-secret");
    CheckFails(Jeffctl({"jwe", "decode", "--secret", kSecret, "--secret", kShortOldSecret}, t), kExitUsage,
               "--allow-weak-secret");
    CheckFails(Jeffctl({"jwe", "decode"}, t, {{"JEFF_SECRET", kShortSecret + "," + kShortOldSecret}}), kExitUsage,
               "--allow-weak-secret");
    run = Jeffctl({"jwe", "decode", "--secret", kShortSecret, "--secret", kShortOldSecret, "--allow-weak-secret"}, t);
    CHECK(run.exit_code == kExitOk);
    CHECK(json::parse(run.out)["sub"] == "user-42");
    CHECK(run.err.find("2 of 2 secrets are shorter") != std::string::npos);
    run = Jeffctl({"jwe", "decode", "--allow-weak-secret"}, t, {{"JEFF_SECRET", kShortSecret + "," + kShortOldSecret}});
    CHECK(run.exit_code == kExitOk);
  }
  // After rotating to a long secret, the old short one still reads the old tokens.
  run = Jeffctl({"jwe", "decode", "--secret", kSecret, "--secret", kShortOldSecret, "--allow-weak-secret"}, rotated_old);
  CHECK(run.exit_code == kExitOk);
  CHECK(run.err.find("1 of 2 secrets are shorter") != std::string::npos);
  // Only the token's own secret opens it.
  CheckInvalid({"jwe", "decode", "--secret", kShortOldSecret, "--allow-weak-secret"}, rotated_new, "invalid token");
  // The opt-in changes nothing for long secrets: no warning.
  run = Jeffctl({"jwe", "decode", "--secret", kSecret, "--allow-weak-secret", "--salt", kAuthJsSalt},
                AuthJsToken(kSecret, kAuthJsSalt));
  CHECK(run.exit_code == kExitOk);
  CHECK(run.err == "");
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
  check({"jwe", "decode", "--secret", "too short"}, token, "pass --allow-weak-secret");
  check({"jwe", "decode", "--allow-weak-secret", "--salt", kAuthJsSalt}, token, "no key");
  check({"jwe", "decode", "--key-hex", "abcd"}, token, "--key-hex needs 64 or 128 hex digits");
  check({"jwe", "decode", "--key-hex", std::string(64, 'g')}, token, "--key-hex");
  check({"jwe", "decode", "--secret", kSecret, "--enc", "A128GCM"}, token, "--enc must be");
  check({"jwe", "decode", "--secret", kSecret}, "", "no token on standard input");
  check({"jwe", "decode", "--secret", kSecret}, " \n", "no token on standard input");
  check({"jwe", "decode", "--secret", kSecret, token}, "", "standard input");
}

}  // namespace
}  // namespace jeff::test
