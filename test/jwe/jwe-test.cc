// jeff/jwe: RFC 7518 known answers, Auth.js key derivation, round trips and
// every refusal the codec owes (issue 5).

#include <doctest/doctest.h>
#include <jeff/detail/jwe_crypto.hpp>
#include <jeff/jwe.hpp>
#include <jeff/token.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using jeff::JweCodec;
using jeff::JweEnc;
using jeff::JweOptions;

constexpr std::string_view kSecret = "jeff-test-secret-0123456789abcdefghijklmnop";
constexpr std::string_view kSalt = "authjs.session-token";

std::vector<std::uint8_t> Hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : hex) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) continue;  // spaces and line breaks as printed in the RFC
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

JweOptions SecretOptions(std::vector<std::string> secrets = {std::string(kSecret)}, std::string salt = std::string(kSalt)) {
  JweOptions o;
  o.secrets = std::move(secrets);
  o.salt = std::move(salt);
  return o;
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts(1);
  for (char c : token) {
    if (c == '.') {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}

// A correctly encrypted token under an arbitrary protected header: whatever
// refuses it is the header check, not the tag.
std::string SealWithHeader(const std::string& header_json, JweEnc enc, const std::vector<std::uint8_t>& key,
                           std::string_view plaintext = R"({"sub":"x"})") {
  const std::string header = jeff::Base64UrlEncode(header_json);
  std::vector<std::uint8_t> iv(enc == JweEnc::kA256Gcm ? 12 : 16, 7);
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::uint8_t> tag;
  REQUIRE(jeff::detail::JweSeal(enc, key, iv, header, plaintext, ciphertext, tag));
  return header + ".." + jeff::Base64UrlEncode(iv) + "." + jeff::Base64UrlEncode(ciphertext) + "." +
         jeff::Base64UrlEncode(tag);
}

std::vector<std::uint8_t> DerivedKey(JweEnc enc, std::string_view salt = kSalt) {
  return jeff::DeriveAuthJsKey(kSecret, salt, enc);
}

}  // namespace

TEST_SUITE("jwe") {

TEST_CASE("RFC 7518 Appendix B.3 AES_256_CBC_HMAC_SHA_512, byte for byte") {
  const auto key = Hex(
      "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
      "20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f");
  const std::string plaintext =
      "A cipher system must not be required to be secret, and it must be able to fall into the hands of "
      "the enemy without inconvenience";
  const auto iv = Hex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04");
  // The AAD as the RFC prints it, in hex ("The second principle of Auguste
  // Kerckhoffs"): the bytes go in as given, not retyped as text.
  const auto aad_bytes =
      Hex("54 68 65 20 73 65 63 6f 6e 64 20 70 72 69 6e 63 69 70 6c 65 20 6f 66 20 41 75 67 75 73 74 65 20"
          "4b 65 72 63 6b 68 6f 66 66 73");
  const std::string aad(aad_bytes.begin(), aad_bytes.end());
  const auto expected_e = Hex(
      "4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd 3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd"
      "82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2 e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b"
      "36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1 1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3"
      "a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e 31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b"
      "be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6");
  const auto expected_t =
      Hex("4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf 2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5");

  std::vector<std::uint8_t> ciphertext;
  std::vector<std::uint8_t> tag;
  REQUIRE(jeff::detail::JweSeal(JweEnc::kA256CbcHs512, key, iv, aad, plaintext, ciphertext, tag));
  CHECK(ciphertext == expected_e);
  CHECK(tag == expected_t);

  std::string opened;
  REQUIRE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, iv, aad, expected_e, expected_t, opened));
  CHECK(opened == plaintext);

  SUBCASE("any change to tag, ciphertext, IV, AAD or key is refused") {
    auto bad_tag = expected_t;
    bad_tag[31] ^= 1;
    CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, iv, aad, expected_e, bad_tag, opened));
    auto bad_e = expected_e;
    bad_e[0] ^= 0x80;
    CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, iv, aad, bad_e, expected_t, opened));
    auto bad_iv = iv;
    bad_iv[15] ^= 1;
    CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, bad_iv, aad, expected_e, expected_t, opened));
    CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, iv, aad + " ", expected_e, expected_t, opened));
    // The same length (AL unchanged): the AAD's bytes are authenticated, not just its length.
    for (std::size_t at : {std::size_t{0}, aad.size() / 2, aad.size() - 1}) {
      std::string bad_aad = aad;
      bad_aad[at] ^= 1;
      CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, iv, bad_aad, expected_e, expected_t, opened));
    }
    auto bad_key = key;
    bad_key[0] ^= 1;  // the MAC half
    CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, bad_key, iv, aad, expected_e, expected_t, opened));
    const std::vector<std::uint8_t> short_tag(expected_t.begin(), expected_t.begin() + 16);
    CHECK_FALSE(jeff::detail::JweOpen(JweEnc::kA256CbcHs512, key, iv, aad, expected_e, short_tag, opened));
  }
}

TEST_CASE("keys are derived exactly as Auth.js v5 derives them, kid as its thumbprint") {
  // Values printed by @panva/hkdf and jose.calculateJwkThumbprint, the code
  // @auth/core runs (test/jwe/interop checks the same live).
  CHECK(DerivedKey(JweEnc::kA256CbcHs512) ==
        Hex("c368e1f16cdddfbdca89c76807285e6ce320c4e492589f12000a48b5740959b1"
            "d7dd2a050ffd0bb6350a908a1384426e6f146a8e75e4612b7722b5bfafed52b4"));
  CHECK(DerivedKey(JweEnc::kA256Gcm) == Hex("c368e1f16cdddfbdca89c76807285e6ce320c4e492589f12000a48b5740959b1"));
  CHECK(DerivedKey(JweEnc::kA256CbcHs512, "__Secure-authjs.session-token") ==
        Hex("1125957cd24b227da0e448b71bea558bc982ed487afa8d40d741fab2046d18cb"
            "7abd07101a8487fbc9a04e61ca316114603dd30895076c22aaaf10c48b1fc732"));
  CHECK(jeff::JwkThumbprint(DerivedKey(JweEnc::kA256CbcHs512)) ==
        "ieYqi_fvhQQ4khduNVbDOMMZM3KhuA_lznPcXpZtdyw5Sh71YiVn6-YdllZ0UupwCM7J8N8MDUwxqA54qz1-Iw");
  CHECK(jeff::JwkThumbprint(DerivedKey(JweEnc::kA256Gcm)) == "IWUUAasQzNR6CODnLTr6z_UmR9IiBJ80nAPPtOo0JPk");
  CHECK(jeff::JwkThumbprint(DerivedKey(JweEnc::kA256CbcHs512, "__Secure-authjs.session-token")) ==
        "hqaXMYMyYuYGck77HVpdttShKECs7EEU5cC6xVU47elZQRNkV7E4ngTZiRfh5-bNbPwsTbGKxz2Y3K51bOInsA");
  CHECK(JweCodec(SecretOptions()).kid() ==
        "ieYqi_fvhQQ4khduNVbDOMMZM3KhuA_lznPcXpZtdyw5Sh71YiVn6-YdllZ0UupwCM7J8N8MDUwxqA54qz1-Iw");
}

TEST_CASE("tokens recorded from @auth/core encode and jose CompactEncrypt decrypt") {
  const JweCodec codec(SecretOptions());
  const auto authjs = codec.Decrypt(
      "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiaWVZcWlfZnZoUVE0a2hkdU5WYkRPTU1aTTNLaHVBX2x6blBjWH"
      "BadGR5dzVTaDcxWWlWbjYtWWRsbFowVXVwd0NNN0o4TjhNRFV3eHFBNTRxejEtSXcifQ..hIhzYKX24mrbt4RDLD3Yug.FOiL-4QA0RK_"
      "bCjkFlK8Yk_6SA1r07M4OmVZVkQOACGdBroq7GWISDjl-j_ED4foguaz7dzyfaoJ0GcdfyteOuIwEu6Zg3xzVYnHL5iPZ3giANr4Gd5RAb"
      "raoUQLarX_bYKR79pgj-jRG9_1Hhg_QrrYUlN1k6JdKgIxFr0OMHgMeZY6VWitLy0eKLaRDmqSo92oAi_QaRzMvxjVj7Y3XQ.r4UOa5UOi8"
      "P-tzDC71Su-M4L_rYnLSakpXk0owbvXKo");
  REQUIRE(authjs);
  CHECK(*authjs ==
        "{\"sub\":\"user-42\",\"name\":\"Zo\xC3\xAB \xC3\x9Cn\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9 \xF0\x9F\x98\x80\","
        "\"email\":\"zoe@example.com\",\"iat\":1795387659,\"exp\":2110747659,"
        "\"jti\":\"225e63b1-7060-4471-8102-f3ae578f245d\"}");
  // jose, A256GCM, no kid: the derived 32-byte key is tried in order.
  const auto gcm = codec.Decrypt(
      "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..LNfcTqB2ZH7CCszS.S2oPW0Xg6t1oKDVIXJ4rSJNVKiLLnL5A.sRtMcirQJ-4E4Yk"
      "tsm7UFA");
  REQUIRE(gcm);
  CHECK(*gcm == R"({"sub":"gcm-user","n":1})");
}

TEST_CASE("Encrypt writes Auth.js's header, a fresh IV, and round-trips") {
  for (const JweEnc enc : {JweEnc::kA256CbcHs512, JweEnc::kA256Gcm}) {
    CAPTURE(jeff::ToString(enc));
    auto options = SecretOptions();
    options.enc = enc;
    const JweCodec codec(options);
    CHECK(codec.enc() == enc);
    const auto token = codec.Encrypt(R"({"sub":"u"})");
    REQUIRE(token.ok());
    const auto parts = Split(*token);
    REQUIRE(parts.size() == 5);
    const nlohmann::json expected_header = {{"alg", "dir"}, {"enc", std::string(jeff::ToString(enc))}, {"kid", codec.kid()}};
    CHECK(jeff::Base64UrlDecode(parts[0]) == expected_header.dump());
    CHECK(parts[1].empty());
    CHECK(parts[2].size() == (enc == JweEnc::kA256Gcm ? 16u : 22u));
    CHECK(parts[4].size() == (enc == JweEnc::kA256Gcm ? 22u : 43u));
    const auto again = codec.Encrypt(R"({"sub":"u"})");
    REQUIRE(again.ok());
    CHECK(Split(*again)[2] != parts[2]);  // fresh IV
    CHECK(*again != *token);

    for (std::size_t size : {0, 1, 15, 16, 17, 31, 32, 33, 255, 6 * 1024}) {
      const std::string plaintext(size, static_cast<char>('a' + size % 26));
      const auto sealed = codec.Encrypt(plaintext);
      REQUIRE(sealed.ok());
      std::string opened = "previous content";
      REQUIRE(codec.Decrypt(*sealed, opened));
      CHECK(opened == plaintext);
    }
  }
}

TEST_CASE("raw keys, rotation by kid and in order, enabled encs") {
  const std::string raw64(64, 'k');
  const std::string raw32(32, 'g');
  SUBCASE("raw 64-byte and 32-byte keys") {
    JweOptions cbc;
    cbc.keys = {raw64};
    const JweCodec a(cbc);
    CHECK(a.kid() == jeff::JwkThumbprint(std::vector<std::uint8_t>(raw64.begin(), raw64.end())));
    CHECK(a.Decrypt(*a.Encrypt("x")) == std::optional<std::string>("x"));
    JweOptions gcm;
    gcm.keys = {raw64, raw32};
    gcm.enc = JweEnc::kA256Gcm;
    const JweCodec b(gcm);
    CHECK(b.Decrypt(*b.Encrypt("y")) == std::optional<std::string>("y"));
    CHECK(b.Decrypt(*a.Encrypt("z")) == std::optional<std::string>("z"));
    CHECK_FALSE(a.Decrypt(*b.Encrypt("y")));
  }
  SUBCASE("several secrets: the first encrypts, all decrypt") {
    const std::string old_secret(40, 'o');
    const std::string new_secret(40, 'n');
    const JweCodec before(SecretOptions({old_secret}));
    const JweCodec after(SecretOptions({new_secret, old_secret}));
    const auto old_token = before.Encrypt("old");
    const auto new_token = after.Encrypt("new");
    CHECK(after.kid() == JweCodec(SecretOptions({new_secret})).kid());
    CHECK(after.Decrypt(*old_token) == std::optional<std::string>("old"));
    CHECK(after.Decrypt(*new_token) == std::optional<std::string>("new"));
    CHECK_FALSE(before.Decrypt(*new_token));
    // No kid, or a kid nobody knows: every key of that enc, in order.
    const auto old_key = jeff::DeriveAuthJsKey(old_secret, kSalt, JweEnc::kA256CbcHs512);
    CHECK(after.Decrypt(SealWithHeader(R"({"alg":"dir","enc":"A256CBC-HS512"})", JweEnc::kA256CbcHs512, old_key)));
    CHECK(after.Decrypt(
        SealWithHeader(R"({"alg":"dir","enc":"A256CBC-HS512","kid":"other"})", JweEnc::kA256CbcHs512, old_key)));
    // A kid that names a key is bound to it.
    const std::string wrong_kid = R"({"alg":"dir","enc":"A256CBC-HS512","kid":")" + after.kid() + R"("})";
    CHECK_FALSE(after.Decrypt(SealWithHeader(wrong_kid, JweEnc::kA256CbcHs512, old_key)));
  }
  SUBCASE("accept_other_enc = false refuses the other enc") {
    auto options = SecretOptions();
    options.accept_other_enc = false;
    const JweCodec strict(options);
    auto gcm_options = SecretOptions();
    gcm_options.enc = JweEnc::kA256Gcm;
    const JweCodec gcm(gcm_options);
    CHECK_FALSE(strict.Decrypt(*gcm.Encrypt("x")));
    CHECK(JweCodec(SecretOptions()).Decrypt(*gcm.Encrypt("x")));
  }
}

TEST_CASE("construction refuses unusable keys") {
  CHECK_THROWS_AS(JweCodec(JweOptions{}), std::invalid_argument);
  CHECK_THROWS_AS(JweCodec(SecretOptions({std::string(31, 's')})), std::invalid_argument);
  CHECK_THROWS_AS(JweCodec(SecretOptions({std::string(kSecret), "short"})), std::invalid_argument);
  CHECK_THROWS_AS(JweCodec(SecretOptions({std::string(kSecret)}, "")), std::invalid_argument);
  JweOptions raw;
  raw.keys = {std::string(48, 'k')};
  CHECK_THROWS_AS(JweCodec{raw}, std::invalid_argument);
  raw.keys = {std::string(64, 'k')};
  raw.enc = JweEnc::kA256Gcm;  // no 32-byte key for it
  CHECK_THROWS_AS(JweCodec{raw}, std::invalid_argument);
  CHECK_NOTHROW(JweCodec(SecretOptions({std::string(32, 's')})));
}

TEST_CASE("short secrets only with allow_weak_secrets, which the refusal names; never empty") {
  for (const std::vector<std::string>& secrets :
       {std::vector<std::string>{"short"}, {std::string(kSecret), "short"}, {"abc", "def"}}) {
    JweOptions options = SecretOptions(secrets);
    try {
      JweCodec{options};
      FAIL("a short secret was accepted without the opt-in");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("shorter than 32 bytes") != std::string::npos);
      CHECK(std::string(e.what()).find("allow_weak_secrets") != std::string::npos);
    }
    options.allow_weak_secrets = true;
    const JweCodec codec(options);
    const auto token = codec.Encrypt(R"({"sub":"u"})");
    REQUIRE(token);
    CHECK(codec.Decrypt(*token) == std::optional<std::string>(R"({"sub":"u"})"));
    // Keyed by the first secret: another short secret does not open it.
    JweOptions other = SecretOptions({secrets[0] + "x"});
    other.allow_weak_secrets = true;
    CHECK_FALSE(JweCodec(other).Decrypt(*token));
  }
  CHECK(jeff::IsWeakJweSecret(std::string(31, 's')));
  CHECK_FALSE(jeff::IsWeakJweSecret(std::string(32, 's')));
  JweOptions empty = SecretOptions({""});
  empty.allow_weak_secrets = true;
  CHECK_THROWS_AS(JweCodec{empty}, std::invalid_argument);
}

TEST_CASE("refusals: one opaque outcome, never a crash") {
  const JweCodec codec(SecretOptions());
  const std::string token = *codec.Encrypt(R"({"sub":"u","exp":1})");
  const auto parts = Split(token);
  REQUIRE(codec.Decrypt(token));
  const auto cbc_key = DerivedKey(JweEnc::kA256CbcHs512);

  SUBCASE("each of the five segments tampered") {
    for (std::size_t segment = 0; segment < 5; ++segment) {
      CAPTURE(segment);
      auto tampered = parts;
      if (tampered[segment].empty()) {
        tampered[segment] = "AAAA";  // an encrypted key where dir has none
      } else {
        char& c = tampered[segment][tampered[segment].size() / 2];
        c = c == 'A' ? 'B' : 'A';
      }
      CHECK_FALSE(codec.Decrypt(Join(tampered)));
    }
  }
  SUBCASE("alg none, other algs, other or disabled encs") {
    for (const char* header : {R"({"alg":"none","enc":"A256CBC-HS512"})", R"({"alg":"A256KW","enc":"A256CBC-HS512"})",
                               R"({"alg":"RSA-OAEP","enc":"A256CBC-HS512"})", R"({"alg":"ECDH-ES","enc":"A256CBC-HS512"})",
                               R"({"alg":"DIR","enc":"A256CBC-HS512"})", R"({"alg":"HS256","enc":"A256CBC-HS512"})",
                               R"({"enc":"A256CBC-HS512"})", R"({"alg":"dir"})", R"({"alg":"dir","enc":"A128GCM"})",
                               R"({"alg":"dir","enc":"A128CBC-HS256"})", R"({"alg":"dir","enc":"a256cbc-hs512"})"}) {
      CAPTURE(header);
      CHECK_FALSE(codec.Decrypt(SealWithHeader(header, JweEnc::kA256CbcHs512, cbc_key)));
    }
    // The same key and plaintext under a well-formed header are fine.
    CHECK(codec.Decrypt(SealWithHeader(R"({"alg":"dir","enc":"A256CBC-HS512"})", JweEnc::kA256CbcHs512, cbc_key)));
  }
  SUBCASE("zip, crit, unknown or repeated members, non-string values, not an object") {
    for (const char* header :
         {R"({"alg":"dir","enc":"A256CBC-HS512","zip":"DEF"})", R"({"alg":"dir","enc":"A256CBC-HS512","crit":["exp"]})",
          R"({"alg":"dir","enc":"A256CBC-HS512","crit":[]})", R"({"alg":"dir","enc":"A256CBC-HS512","typ":"JWT"})",
          R"({"alg":"dir","enc":"A256CBC-HS512","jku":"https://evil.example"})",
          R"({"alg":"dir","alg":"dir","enc":"A256CBC-HS512"})", R"({"alg":"dir","enc":"A256CBC-HS512","enc":"A256GCM"})",
          R"({"alg":"dir","enc":"A256CBC-HS512","kid":"a","kid":"b"})", R"({"alg":"dir","enc":"A256CBC-HS512","kid":7})",
          R"({"alg":"dir","enc":"A256CBC-HS512","kid":null})", R"(["alg","dir"])", R"("dir")", R"({})", "",
          R"({"alg":"dir","enc":"A256CBC-HS512"} )", R"({"alg":"dir","enc":"A256CBC-HS512"}{})",
          R"({"alg":"dir","enc":"A256CBC-HS512")", "{\"alg\":\"dir\",\"enc\":\"A256CBC-HS512\",\"kid\":\"\xff\"}"}) {
      CAPTURE(header);
      const std::string sealed = SealWithHeader(header, JweEnc::kA256CbcHs512, cbc_key);
      // Trailing whitespace is valid JSON; everything else here is refused.
      if (std::string_view(header) == R"({"alg":"dir","enc":"A256CBC-HS512"} )") {
        CHECK(codec.Decrypt(sealed));
      } else {
        CHECK_FALSE(codec.Decrypt(sealed));
      }
    }
  }
  SUBCASE("wrong IV and tag lengths") {
    auto p = parts;
    p[2] = jeff::Base64UrlEncode(std::string(12, 'i'));  // GCM's IV length under CBC
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p = parts;
    p[2] += "AA";
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p = parts;
    p[4] = p[4].substr(0, 22);  // a 16-byte tag
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p = parts;
    p[4] += "AAAA";
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p = parts;
    p[3] = p[3].substr(0, p[3].size() - 2);  // not whole AES blocks
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p[3] = "";
    CHECK_FALSE(codec.Decrypt(Join(p)));
  }
  SUBCASE("truncated at every length, wrong segment counts") {
    for (std::size_t n = 0; n < token.size(); ++n) CHECK_FALSE(codec.Decrypt(token.substr(0, n)));
    CHECK_FALSE(codec.Decrypt(token + "."));
    CHECK_FALSE(codec.Decrypt(token + ".AAAA"));
    CHECK_FALSE(codec.Decrypt(Join({parts[0], parts[2], parts[3], parts[4]})));
    CHECK_FALSE(codec.Decrypt("...."));
    CHECK_FALSE(codec.Decrypt(""));
  }
  SUBCASE("oversized") {
    auto options = SecretOptions();
    options.max_token_chars = token.size() - 1;
    CHECK_FALSE(JweCodec(options).Decrypt(token));
    auto p = parts;
    p[3] += std::string(70 * 1024, 'A');
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p = parts;
    p[0] = jeff::Base64UrlEncode(R"({"alg":"dir","enc":"A256CBC-HS512","kid":")" + std::string(2000, 'k') + "\"}");
    CHECK_FALSE(codec.Decrypt(Join(p)));
  }
  SUBCASE("bad base64url: padding, other alphabets, spaces, non-canonical bits") {
    for (std::size_t segment : {0, 2, 3, 4}) {
      CAPTURE(segment);
      for (const char* junk : {"=", "+", "/", " ", "\n", "%", "\xc3\xa9", "\0"}) {
        auto p = parts;
        p[segment].insert(p[segment].size() / 2, std::string(junk, junk[0] ? std::char_traits<char>::length(junk) : 1));
        CHECK_FALSE(codec.Decrypt(Join(p)));
        p = parts;
        p[segment].back() = junk[0];
        CHECK_FALSE(codec.Decrypt(Join(p)));
      }
    }
    // 22 characters carry 132 bits for a 128-bit IV: the last 4 must be zero.
    auto p = parts;
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const auto last = alphabet.find(p[2].back());
    p[2].back() = alphabet[(last & ~std::size_t{15}) | ((last + 1) & 15)];
    CHECK_FALSE(codec.Decrypt(Join(p)));
    p = parts;
    p[3] += "=";
    CHECK_FALSE(codec.Decrypt(Join(p)));
  }
  SUBCASE("wrong secret, wrong salt") {
    CHECK_FALSE(JweCodec(SecretOptions({std::string(40, 'w')})).Decrypt(token));
    CHECK_FALSE(JweCodec(SecretOptions({std::string(kSecret)}, "__Secure-authjs.session-token")).Decrypt(token));
    CHECK(JweCodec(SecretOptions({std::string(40, 'w'), std::string(kSecret)})).Decrypt(token));
  }
  SUBCASE("GCM: tag, IV and AAD tampering") {
    auto options = SecretOptions();
    options.enc = JweEnc::kA256Gcm;
    const JweCodec gcm(options);
    const auto gcm_parts = Split(*gcm.Encrypt("hello"));
    for (std::size_t segment : {0, 2, 3, 4}) {
      auto p = gcm_parts;
      char& c = p[segment][p[segment].size() / 2];
      c = c == 'A' ? 'B' : 'A';
      CHECK_FALSE(gcm.Decrypt(Join(p)));
    }
    auto p = gcm_parts;
    p[2] = parts[2];  // a 16-byte IV
    CHECK_FALSE(gcm.Decrypt(Join(p)));
    p = gcm_parts;
    p[4] = parts[4];  // a 32-byte tag
    CHECK_FALSE(gcm.Decrypt(Join(p)));
  }
}

TEST_CASE("concurrent use of several codecs from several threads") {
  std::vector<JweCodec> codecs;
  for (int i = 0; i < 6; ++i) {  // more than each thread's cache holds
    auto options = SecretOptions({std::string(40, static_cast<char>('a' + i))});
    options.enc = i % 2 ? JweEnc::kA256Gcm : JweEnc::kA256CbcHs512;
    codecs.emplace_back(options);
  }
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string out;
      for (int i = 0; i < 300; ++i) {
        const JweCodec& codec = codecs[static_cast<std::size_t>(i * (t + 1)) % codecs.size()];
        const std::string plaintext = "message " + std::to_string(i);
        const auto token = codec.Encrypt(plaintext);
        if (!token || !codec.Decrypt(*token, out) || out != plaintext) ++failures[static_cast<std::size_t>(t)];
        const JweCodec& other = codecs[(static_cast<std::size_t>(i * (t + 1)) + 1) % codecs.size()];
        if (other.Decrypt(*token, out)) ++failures[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == std::vector<int>(4, 0));
}

}  // TEST_SUITE
