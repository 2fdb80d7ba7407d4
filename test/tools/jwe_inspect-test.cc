// End-to-end: `jeffctl jwe inspect` shows the header and segment lengths
// of tokens made by the real @auth/core and jose, without a key.

#include <doctest/doctest.h>

#include "tools/jeffctl_support.hpp"

#include <string>

namespace jeff::test {
namespace {

using nlohmann::json;

const std::string kSecret = "jeffctl-inspect-secret-0123456789abcdefg";

json Segment(std::size_t chars, std::size_t bytes) { return {{"chars", chars}, {"bytes", bytes}}; }

TEST_CASE("inspect shows an @auth/core token's header and segments") {
  const json answers = AuthJs(json::array(
      {{{"op", "encode"}, {"secret", kSecret}, {"salt", kAuthJsSalt}, {"token", {{"sub", "u"}}}, {"maxAge", 60}},
       {{"op", "derive"}, {"secret", kSecret}, {"salt", kAuthJsSalt}, {"enc", "A256CBC-HS512"}}}));
  const std::string token = answers[0]["token"];
  const ProcessOutcome run = Jeffctl({"jwe", "inspect"}, token + "\n");
  REQUIRE(run.exit_code == kExitOk);
  CHECK(run.err == "");
  const json out = json::parse(run.out);
  CHECK(out["header"] == json{{"alg", "dir"}, {"enc", "A256CBC-HS512"}, {"kid", answers[1]["kid"]}});
  const std::size_t first_dot = token.find('.');
  CHECK(out["segments"]["protected"]["chars"] == first_dot);
  CHECK(out["segments"]["encrypted_key"] == Segment(0, 0));
  CHECK(out["segments"]["iv"] == Segment(22, 16));
  CHECK(out["segments"]["tag"] == Segment(43, 32));
  const std::size_t ciphertext_bytes = out["segments"]["ciphertext"]["bytes"];
  CHECK(ciphertext_bytes % 16 == 0);  // CBC blocks
}

TEST_CASE("inspect shows jose's A256GCM token: 12-byte IV, 16-byte tag") {
  const std::string plaintext = R"({"sub":"gcm"})";
  const std::string token = AuthJsOne({{"op", "joseEncrypt"}, {"key", std::string(64, '1')},
                                       {"header", {{"alg", "dir"}, {"enc", "A256GCM"}}},
                                       {"plaintext", plaintext}})["token"];
  const ProcessOutcome run = Jeffctl({"jwe", "inspect"}, token);
  REQUIRE(run.exit_code == kExitOk);
  const json out = json::parse(run.out);
  CHECK(out["header"] == json{{"alg", "dir"}, {"enc", "A256GCM"}});
  CHECK(out["segments"]["iv"] == Segment(16, 12));
  CHECK(out["segments"]["tag"] == Segment(22, 16));
  CHECK(out["segments"]["ciphertext"]["bytes"] == plaintext.size());
}

TEST_CASE("inspect: what is not a compact JWE exits 1; no input exits 2") {
  const std::string header = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0";  // {"alg":"dir","enc":"A256GCM"}
  auto invalid = [](const std::string& input, const std::string& says) {
    CAPTURE(input);
    CheckFails(Jeffctl({"jwe", "inspect"}, input), kExitFailure, says);
  };
  invalid("hello", "5 segments, this has 1");
  invalid(header + "..AAAA.AAAA", "5 segments, this has 4");
  invalid(header + "..AAAA.AAAA.AAAA.AAAA", "5 segments, this has 6");
  invalid(header + "..AA*A.AAAA.AAAA", "segment iv is not base64url");
  invalid("bm90IGpzb24..AAAA.AAAA.AAAA", "header is not a JSON object");  // "not json"
  invalid("WzFd..AAAA.AAAA.AAAA", "header is not a JSON object");          // [1]

  CheckFails(Jeffctl({"jwe", "inspect"}, ""), kExitUsage, "no token on standard input");
}

}  // namespace
}  // namespace jeff::test
