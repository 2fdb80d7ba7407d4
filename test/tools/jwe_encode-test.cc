// End-to-end: `jeffctl jwe encode` makes tokens that the real @auth/core
// (decode) and jose (compactDecrypt) under node accept.

#include <doctest/doctest.h>

#include "tools/jeffctl_support.hpp"

#include <jeff/cookie.hpp>
#include <jeff/sessions.hpp>
#include <jeff/token.hpp>

#include <string>

namespace jeff::test {
namespace {

using nlohmann::json;

const std::string kSecret = "jeffctl-encode-secret-0123456789abcdefgh";
const std::string kOldSecret = "jeffctl-encode-old-secret-zyxwvutsrqponm";

const json kClaims = {{"sub", "user-7"},
                      {"name", "Zoë Ünïcødé 😀 日本語 \"quoted\" \\"},
                      {"roles", {"admin"}},
                      {"nested", {{"n", 2.5}, {"ok", true}, {"none", nullptr}}}};

std::string Encode(const std::vector<std::string>& args, const json& claims = kClaims, EnvChanges env = {}) {
  std::vector<std::string> argv = {"jwe", "encode"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessOutcome run = Jeffctl(argv, claims.dump(), std::move(env));
  REQUIRE_MESSAGE(run.exit_code == kExitOk, run.err);
  CHECK(run.err == "");
  REQUIRE(run.out.ends_with("\n"));
  return run.out.substr(0, run.out.size() - 1);
}

json AuthJsDecode(const std::string& secret, const std::string& salt, const std::string& token) {
  return AuthJs(json::array({{{"op", "decode"}, {"secret", secret}, {"salt", salt}, {"token", token}}}))[0];
}

json Header(const std::string& token) {
  return json::parse(Base64UrlDecode(token.substr(0, token.find('.'))).value());
}

TEST_CASE("encode makes a token @auth/core decodes, with iat, exp (30 days) and jti") {
  const std::int64_t before = UnixNow();
  const std::string token = Encode({"--secret", kSecret, "--salt", kAuthJsSalt});
  const json decoded = AuthJsDecode(kSecret, kAuthJsSalt, token);
  REQUIRE_MESSAGE(decoded.contains("payload"), decoded.dump());
  const json& payload = decoded["payload"];
  for (const auto& [name, value] : kClaims.items()) CHECK(payload[name] == value);
  const std::int64_t iat = payload["iat"];
  CHECK(iat >= before);
  CHECK(iat <= UnixNow());
  CHECK(payload["exp"].get<std::int64_t>() - iat == 30 * 24 * 3600);
  CHECK(ParseSessionId(payload["jti"].get<std::string>()).has_value());

  // The header Auth.js writes: dir, A256CBC-HS512, and the kid of the derived key.
  const json derived = AuthJsOne({{"op", "derive"}, {"secret", kSecret}, {"salt", kAuthJsSalt}, {"enc", "A256CBC-HS512"}});
  CHECK(Header(token) == json{{"alg", "dir"}, {"enc", "A256CBC-HS512"}, {"kid", derived["kid"]}});
}

TEST_CASE("encode stamps iat, exp and jti itself; --max-age sets the lifetime") {
  json claims = kClaims;
  claims["iat"] = 1;
  claims["exp"] = 2;
  claims["jti"] = "chosen";
  const std::string token = Encode({"--secret", kSecret, "--max-age", "120", "--salt", kAuthJsSalt}, claims);
  const json payload = AuthJsDecode(kSecret, kAuthJsSalt, token)["payload"];
  CHECK(payload["exp"].get<std::int64_t>() - payload["iat"].get<std::int64_t>() == 120);
  CHECK(payload["iat"].get<std::int64_t>() > 1);
  CHECK(payload["jti"] != "chosen");
  // Two tokens of the same claims differ (fresh IV and jti).
  CHECK(Encode({"--secret", kSecret, "--salt", kAuthJsSalt}) != Encode({"--secret", kSecret, "--salt", kAuthJsSalt}));
}

TEST_CASE("encode encrypts with the first secret; --salt; JEFF_SECRET") {
  const std::string secure_salt = "__Secure-authjs.session-token";
  std::string token = Encode({"--secret", kSecret, "--secret", kOldSecret, "--salt", secure_salt});
  CHECK(AuthJsDecode(kSecret, secure_salt, token).contains("payload"));
  CHECK(AuthJsDecode(kOldSecret, secure_salt, token).contains("error"));
  CHECK(AuthJsDecode(kSecret, kAuthJsSalt, token).contains("error"));

  token = Encode({"--salt", kAuthJsSalt}, kClaims, {{"JEFF_SECRET", kOldSecret + "," + kSecret}});
  CHECK(AuthJsDecode(kOldSecret, kAuthJsSalt, token)["payload"]["sub"] == "user-7");
  CHECK(AuthJsDecode(kSecret, kAuthJsSalt, token).contains("error"));

  // And back: jeffctl decodes its own tokens.
  const ProcessOutcome run = Jeffctl({"jwe", "decode", "--secret", kOldSecret}, token);
  CHECK(run.exit_code == kExitOk);
  CHECK(json::parse(run.out)["sub"] == "user-7");
}

TEST_CASE("encode without --salt derives with jeff's default cookie name, and says so") {
  const ProcessOutcome run = Jeffctl({"jwe", "encode", "--secret", kSecret}, kClaims.dump());
  REQUIRE(run.exit_code == kExitOk);
  const std::string jeff_salt = CookieOptions{}.name;
  CHECK(run.err == "jeffctl: salt " + jeff_salt +
                       " (jeff's default cookie name); for an Auth.js app pass --salt authjs.session-token "
                       "(or __Secure-authjs.session-token over HTTPS)\n");
  const std::string token = run.out.substr(0, run.out.size() - 1);
  CHECK(AuthJsDecode(kSecret, jeff_salt, token)["payload"]["sub"] == "user-7");
  CHECK(AuthJsDecode(kSecret, kAuthJsSalt, token).contains("error"));
  // An app on jeff's defaults reads it as its own cookie.
  Options options;
  options.stateless.secrets = {kSecret};
  options.logger = [](std::string_view) {};
  Sessions sessions(options);
  const CheckResult checked = sessions.Check(jeff_salt + "=" + token);
  REQUIRE(checked.ok());
  CHECK(checked.session.key == "user-7");
}

TEST_CASE("encode with a short secret, by opt-in: @auth/core decodes the token") {
  const std::string short_secret = "hunter";
  CheckFails(Jeffctl({"jwe", "encode", "--secret", short_secret, "--salt", kAuthJsSalt}, kClaims.dump()), kExitUsage,
             "pass --allow-weak-secret");
  for (const std::string& salt : {kAuthJsSalt, std::string("__Secure-authjs.session-token")}) {
    CAPTURE(salt);
    const ProcessOutcome run = Jeffctl(
        {"jwe", "encode", "--secret", short_secret, "--secret", "s3cr3t", "--allow-weak-secret", "--salt", salt},
        kClaims.dump());
    REQUIRE_MESSAGE(run.exit_code == kExitOk, run.err);
    CHECK(run.err.find("jeffctl: warning: 2 of 2 secrets are shorter than 32 bytes") == 0);
    const std::string token = run.out.substr(0, run.out.size() - 1);
    CHECK(AuthJsDecode(short_secret, salt, token)["payload"]["sub"] == "user-7");
    const json rotated = AuthJs(json::array(
        {{{"op", "decode"}, {"secret", {"s3cr3t", short_secret}}, {"salt", salt}, {"token", token}}}))[0];
    CHECK(rotated["payload"]["sub"] == "user-7");
    CHECK(AuthJsDecode("s3cr3t", salt, token).contains("error"));  // the first secret encrypts
  }
}

TEST_CASE("encode --enc A256GCM, and raw keys, open with @auth/core and jose") {
  std::string token = Encode({"--secret", kSecret, "--enc", "A256GCM", "--salt", kAuthJsSalt});
  CHECK(Header(token)["enc"] == "A256GCM");
  CHECK(AuthJsDecode(kSecret, kAuthJsSalt, token)["payload"]["sub"] == "user-7");

  const std::string cbc_key = AuthJsOne({{"op", "derive"}, {"secret", kSecret}, {"salt", kAuthJsSalt},
                                         {"enc", "A256CBC-HS512"}})["key"];
  token = Encode({"--key-hex", cbc_key});
  // The derived key given raw makes the same kind of token as the secret.
  CHECK(AuthJsDecode(kSecret, kAuthJsSalt, token)["payload"]["sub"] == "user-7");
  json opened = AuthJsOne({{"op", "joseDecrypt"}, {"key", cbc_key}, {"token", token}});
  CHECK(opened["header"]["enc"] == "A256CBC-HS512");
  CHECK(json::parse(opened["plaintext"].get<std::string>())["roles"] == json{"admin"});

  const std::string gcm_key(64, 'a');  // 32 bytes: A256GCM without --enc
  token = Encode({"--key-hex", gcm_key});
  opened = AuthJsOne({{"op", "joseDecrypt"}, {"key", gcm_key}, {"token", token}});
  CHECK(opened["header"]["enc"] == "A256GCM");
  CHECK(json::parse(opened["plaintext"].get<std::string>())["sub"] == "user-7");
}

TEST_CASE("encode: bad claims and options are usage errors (exit 2)") {
  auto check = [](const std::vector<std::string>& args, const std::string& input, const std::string& says) {
    CAPTURE(input);
    CheckFails(Jeffctl(args, input), kExitUsage, says);
  };
  const std::string claims = kClaims.dump();
  for (const std::string& bad : {std::string(""), std::string("{"), std::string("[1]"), std::string("\"sub\""),
                                 std::string("{\"a\":1} {\"b\":2}"), std::string("{\"bad\":\"\xff\"}")}) {
    check({"jwe", "encode", "--secret", kSecret}, bad, "one JSON object");
  }
  check({"jwe", "encode"}, claims, "no key");
  check({"jwe", "encode", "--secret", kSecret, "--max-age", "0"}, claims, "--max-age needs whole seconds");
  check({"jwe", "encode", "--secret", kSecret, "--max-age", "1h"}, claims, "--max-age");
  check({"jwe", "encode", "--key-hex", std::string(64, 'a'), "--enc", "A256CBC-HS512"}, claims,
        "no JWE secret or key for A256CBC-HS512");
  check({"jwe", "encode", "--secret", kSecret, "extra"}, claims, "standard input");
}

}  // namespace
}  // namespace jeff::test
