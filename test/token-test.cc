#include <jeff/token.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using jeff::Base64UrlDecode;
using jeff::Base64UrlDecodeExact;
using jeff::Base64UrlEncode;

std::string Hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("Base64UrlLength") {
  CHECK(jeff::Base64UrlLength(0) == 0);
  CHECK(jeff::Base64UrlLength(1) == 2);
  CHECK(jeff::Base64UrlLength(2) == 3);
  CHECK(jeff::Base64UrlLength(3) == 4);
  CHECK(jeff::Base64UrlLength(16) == 22);
  CHECK(jeff::Base64UrlLength(32) == 43);
}

TEST_CASE("base64url: RFC 4648 section 10 vectors, unpadded") {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(Base64UrlEncode(plain) == encoded);
    CHECK(Base64UrlEncode(std::span<const std::uint8_t>(Bytes(plain))) == encoded);
    CHECK(Base64UrlDecode(encoded) == std::string(plain));
    std::vector<std::uint8_t> out(plain.size());
    CHECK(Base64UrlDecodeExact(encoded, out));
    CHECK(out == Bytes(plain));
  }
}

TEST_CASE("base64url uses '-' and '_', never '+', '/' or '='") {
  const std::uint8_t minus[] = {0xfb, 0xef, 0xbe};
  const std::uint8_t underscore[] = {0xff, 0xff, 0xff};
  const std::uint8_t mixed[] = {0xfb, 0xff};
  CHECK(Base64UrlEncode(minus) == "----");
  CHECK(Base64UrlEncode(underscore) == "____");
  CHECK(Base64UrlEncode(mixed) == "-_8");
  CHECK(Base64UrlDecode("-_8") == std::string("\xfb\xff"));
  CHECK_FALSE(Base64UrlDecode("+/8").has_value());
  CHECK_FALSE(Base64UrlDecode("-_8=").has_value());
}

TEST_CASE("base64url round-trips every byte value and every length") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string plain = all.substr(all.size() - n);
    const std::string encoded = Base64UrlEncode(plain);
    REQUIRE(encoded.size() == jeff::Base64UrlLength(n));
    REQUIRE(Base64UrlDecode(encoded) == plain);
  }
}

TEST_CASE("base64url decoding is strict") {
  SUBCASE("non-zero trailing bits: one encoding per value") {
    CHECK(Base64UrlDecode("Zg") == std::string("f"));
    for (std::string_view variant : {"Zh", "Zi", "Zp", "Zv"}) {
      CAPTURE(variant);
      CHECK_FALSE(Base64UrlDecode(variant).has_value());
    }
    CHECK(Base64UrlDecode("Zm8") == std::string("fo"));
    CHECK_FALSE(Base64UrlDecode("Zm9").has_value());
    CHECK_FALSE(Base64UrlDecode("Zm-").has_value());
    std::uint8_t one[1];
    CHECK_FALSE(Base64UrlDecodeExact("Zh", one));
  }
  SUBCASE("impossible lengths") {
    for (std::string_view text : {"Z", "Zm9vY", "Zm9vYmFyZ"}) {
      CAPTURE(text);
      CHECK_FALSE(Base64UrlDecode(text).has_value());
    }
  }
  SUBCASE("padding, whitespace and foreign characters") {
    for (std::string_view text :
         {"Zg==", "Zg=", "Zm8=", "Zm9v ", " Zm9v", "Zm9v\n", "Zm\n9v", "Zm9v\r\n", "Zm.v", "Zm9v!",
          "Zm+v", "Zm/v", "Zm9\x80", "Zm9\xff"}) {
      CAPTURE(text);
      CHECK_FALSE(Base64UrlDecode(text).has_value());
    }
    CHECK_FALSE(Base64UrlDecode(std::string_view("Zm\0v", 4)).has_value());
  }
  SUBCASE("exact decoding needs exactly the right length") {
    const jeff::Token zeros{};
    const std::string encoded = Base64UrlEncode(zeros);
    jeff::Token token;
    CHECK(Base64UrlDecodeExact(encoded, token));
    CHECK(token == zeros);
    CHECK_FALSE(Base64UrlDecodeExact(encoded + "A", token));
    CHECK_FALSE(Base64UrlDecodeExact(encoded.substr(1), token));
    CHECK_FALSE(Base64UrlDecodeExact("", token));
    std::array<std::uint8_t, 0> none;
    CHECK(Base64UrlDecodeExact("", none));
    CHECK_FALSE(Base64UrlDecodeExact("AA", none));
  }
  SUBCASE("every single-character corruption of a token is caught or changes the value") {
    jeff::Token token;
    jeff::RandomBytes(token);
    const std::string encoded = Base64UrlEncode(token);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      for (int c = 0; c < 256; ++c) {
        if (static_cast<char>(c) == encoded[i]) continue;
        std::string corrupt = encoded;
        corrupt[i] = static_cast<char>(c);
        jeff::Token decoded;
        if (Base64UrlDecodeExact(corrupt, decoded)) {
          REQUIRE(decoded != token);
          REQUIRE(Base64UrlEncode(decoded) == corrupt);
        }
      }
    }
  }
}

TEST_CASE("SHA-256 known answers (FIPS 180-2)") {
  CHECK(Hex(jeff::Sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Hex(jeff::Sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Hex(jeff::Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Hex(jeff::Sha256(std::string(1000000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("HashToken is SHA-256 of the token bytes") {
  const jeff::Token zeros{};
  CHECK(Hex(jeff::HashToken(zeros)) ==
        "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
  jeff::Token token;
  jeff::RandomBytes(token);
  CHECK(jeff::HashToken(token) ==
        jeff::Sha256(std::string_view(reinterpret_cast<const char*>(token.data()), token.size())));
}

TEST_CASE("KeyId") {
  SUBCASE("without pepper: base64url of the first 16 bytes of SHA-256") {
    CHECK(jeff::KeyId("abc") == "ungWv48Bz-pBQUDeXa4iIw");
    CHECK(jeff::KeyId("alice@example.com") == "_42YGfwOEr8NJIkuRZh-JA");
  }
  SUBCASE("with pepper: HMAC-SHA-256 (RFC 4231 test case 2, truncated)") {
    // HMAC-SHA-256("Jefe", "what do ya want for nothing?") =
    // 5bdcc146bf60754e6a042426089575c7 5a003f08...
    CHECK(jeff::KeyId("what do ya want for nothing?", "Jefe") == "W9zBRr9gdU5qBCQmCJV1xw");
  }
  SUBCASE("shape and separation") {
    const std::string kid = jeff::KeyId("bob");
    CHECK(kid.size() == 22);
    std::array<std::uint8_t, jeff::kKidBytes> raw;
    CHECK(Base64UrlDecodeExact(kid, raw));
    CHECK(jeff::KeyId("bob", "pepper") != kid);
    CHECK(jeff::KeyId("bob", "pepper") != jeff::KeyId("bob", "pepper2"));
    CHECK(jeff::KeyId("bob", "pepper") == jeff::KeyId("bob", "pepper"));
    CHECK(jeff::KeyId("") == "47DEQpj8HBSa-_TImW-5JA");
    CHECK(jeff::KeyId(std::string_view("a\0b", 3)) != jeff::KeyId("a"));
    CHECK(jeff::KeyId(std::string(100000, 'k'), std::string(1000, 'p')).size() == 22);
  }
}

TEST_CASE("ConstantTimeEqual") {
  const auto a = Bytes("secret-token");
  auto b = a;
  CHECK(jeff::ConstantTimeEqual(a, b));
  b.back() ^= 1;
  CHECK_FALSE(jeff::ConstantTimeEqual(a, b));
  b = a;
  b.front() ^= 0x80;
  CHECK_FALSE(jeff::ConstantTimeEqual(a, b));
  CHECK_FALSE(jeff::ConstantTimeEqual(a, Bytes("secret-toke")));
  CHECK_FALSE(jeff::ConstantTimeEqual(Bytes(""), Bytes("x")));
  CHECK(jeff::ConstantTimeEqual(Bytes(""), Bytes("")));
}

// Spans of one buffer that differ only in length (one is a prefix of the
// other): only the length check tells them apart, at every size the compare
// has its own path for (crypto_verify_16/32/64, sodium_memcmp).
TEST_CASE("ConstantTimeEqual: a prefix one byte shorter or longer is unequal") {
  std::vector<std::uint8_t> buffer(65);
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const std::span<const std::uint8_t> all(buffer);
  for (std::size_t n : {1, 2, 12, 15, 16, 17, 31, 32, 33, 63, 64}) {
    CAPTURE(n);
    CHECK(jeff::ConstantTimeEqual(all.first(n), all.first(n)));
    CHECK_FALSE(jeff::ConstantTimeEqual(all.first(n), all.first(n + 1)));
    CHECK_FALSE(jeff::ConstantTimeEqual(all.first(n + 1), all.first(n)));
    CHECK_FALSE(jeff::ConstantTimeEqual(all.first(n), all.first(n - 1)));
    CHECK_FALSE(jeff::ConstantTimeEqual(all.first(n - 1), all.first(n)));
  }
}

TEST_CASE("RandomBytes") {
  jeff::Token a{}, b{};
  jeff::RandomBytes(a);
  jeff::RandomBytes(b);
  CHECK(a != b);
  CHECK(a != jeff::Token{});
  std::array<std::uint8_t, 0> none;
  jeff::RandomBytes(none);
}

TEST_CASE("session ids") {
  SUBCASE("UUIDv4 version and variant bits, uniqueness") {
    std::set<jeff::SessionId> seen;
    for (int i = 0; i < 1000; ++i) {
      const jeff::SessionId id = jeff::NewSessionId();
      REQUIRE((id[6] & 0xf0) == 0x40);
      REQUIRE((id[8] & 0xc0) == 0x80);
      REQUIRE(seen.insert(id).second);
    }
  }
  SUBCASE("format and parse") {
    const jeff::SessionId id = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x42, 0xd3,
                                0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0xff};
    CHECK(jeff::FormatSessionId(id) == "123e4567-e89b-42d3-a456-4266141740ff");
    CHECK(jeff::ParseSessionId("123e4567-e89b-42d3-a456-4266141740ff") == id);
    CHECK(jeff::ParseSessionId("123E4567-E89B-42D3-A456-4266141740FF") == id);
    for (int i = 0; i < 100; ++i) {
      const jeff::SessionId fresh = jeff::NewSessionId();
      const std::string text = jeff::FormatSessionId(fresh);
      REQUIRE(text.size() == 36);
      REQUIRE(text[14] == '4');
      REQUIRE(jeff::ParseSessionId(text) == fresh);
    }
  }
  SUBCASE("malformed text") {
    for (std::string_view text : {
             "",
             "123e4567-e89b-42d3-a456-4266141740f",
             "123e4567-e89b-42d3-a456-4266141740fff",
             "123e4567e89b-42d3-a456-4266141740ffff",
             "123e4567-e89b-42d3-a456_4266141740ff",
             "123e4567-e89b-42d3-a456-4266141740fg",
             "{23e4567-e89b-42d3-a456-4266141740ff",
             "123e4567-e89b-42d3-a456-42661417 0ff",
             "123e4567--89b-42d3-a456-4266141740ff",
             "+23e4567-e89b-42d3-a456-4266141740ff",
             "123e4567e89b42d3a4564266141740ff",
             "urn:uuid:123e4567-e89b-42d3-a456-4266141740ff",
         }) {
      CAPTURE(text);
      CHECK_FALSE(jeff::ParseSessionId(text).has_value());
    }
    CHECK_FALSE(
        jeff::ParseSessionId(std::string_view("123e4567-e89b-42d3-a456-4266141740f\0", 36)));
  }
}

TEST_CASE("hashing and randomness are thread-safe") {
  const jeff::TokenHash expected = jeff::HashToken(jeff::Token{});
  const std::string expected_kid = jeff::KeyId("carol", "pepper");
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        jeff::Token token;
        jeff::RandomBytes(token);
        if (jeff::HashToken(jeff::Token{}) != expected) ++failures[t];
        if (jeff::KeyId("carol", "pepper") != expected_kid) ++failures[t];
        if (jeff::HashToken(token) == expected) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int f : failures) CHECK(f == 0);
}
