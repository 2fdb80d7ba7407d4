#include <jeff/token.hpp>

#include <jeff/detail/ascii.hpp>

// SHA256_Init/Update/Final: see Sha256Into.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <cstring>
#include <memory>
#include <system_error>

namespace jeff {
namespace {

constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0x80 marks a byte outside the alphabet (kDecodeTables is built from this).
constexpr std::array<std::uint8_t, 256> kBase64UrlDecodeTable = [] {
  std::array<std::uint8_t, 256> table{};
  table.fill(0x80);
  for (std::uint8_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = i;
  }
  return table;
}();

void EncodeInto(const std::uint8_t* in, std::size_t n, char* out) noexcept {
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    *out++ = kBase64UrlAlphabet[(v >> 18) & 63];
    *out++ = kBase64UrlAlphabet[(v >> 12) & 63];
    *out++ = kBase64UrlAlphabet[(v >> 6) & 63];
    *out++ = kBase64UrlAlphabet[v & 63];
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    *out++ = kBase64UrlAlphabet[(v >> 18) & 63];
    *out++ = kBase64UrlAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    *out++ = kBase64UrlAlphabet[(v >> 18) & 63];
    *out++ = kBase64UrlAlphabet[(v >> 12) & 63];
    *out++ = kBase64UrlAlphabet[(v >> 6) & 63];
  }
}

// Four decode tables, one per position in a group of four characters, each
// holding the character's six bits already shifted into place; a byte outside
// the alphabet has bit 31 set in all four. A group is then four loads and
// three ORs, and validity is one test at the end.
struct DecodeTables {
  std::array<std::array<std::uint32_t, 256>, 4> at;
};
constexpr DecodeTables kDecodeTables = [] {
  DecodeTables t{};
  for (int pos = 0; pos < 4; ++pos) {
    for (int c = 0; c < 256; ++c) {
      const std::uint8_t v = kBase64UrlDecodeTable[static_cast<std::size_t>(c)];
      t.at[static_cast<std::size_t>(pos)][static_cast<std::size_t>(c)] =
          v == 0x80 ? 0x80000000u : std::uint32_t{v} << (18 - 6 * pos);
    }
  }
  return t;
}();

std::uint32_t Sextet(int pos, char c) noexcept {
  return kDecodeTables.at[static_cast<std::size_t>(pos)][static_cast<unsigned char>(c)];
}

// Precondition: text.size() == Base64UrlLength(n).
bool DecodeInto(std::string_view text, std::uint8_t* out, std::size_t n) noexcept {
  const char* in = text.data();
  std::uint32_t seen = 0;
  std::uint32_t trailing = 0;
  std::size_t o = 0;
  for (; o + 3 <= n; o += 3, in += 4) {
    const std::uint32_t w = Sextet(0, in[0]) | Sextet(1, in[1]) | Sextet(2, in[2]) | Sextet(3, in[3]);
    seen |= w;
    out[o] = static_cast<std::uint8_t>(w >> 16);
    out[o + 1] = static_cast<std::uint8_t>(w >> 8);
    out[o + 2] = static_cast<std::uint8_t>(w);
  }
  // The bits below the last full byte must be zero, so that every value has
  // exactly one accepted encoding (a token cannot be replayed in a variant).
  if (n - o == 1) {
    const std::uint32_t w = Sextet(0, in[0]) | Sextet(1, in[1]);
    seen |= w;
    trailing = w & 0x00ffff;
    out[o] = static_cast<std::uint8_t>(w >> 16);
  } else if (n - o == 2) {
    const std::uint32_t w = Sextet(0, in[0]) | Sextet(1, in[1]) | Sextet(2, in[2]);
    seen |= w;
    trailing = w & 0x0000ff;
    out[o] = static_cast<std::uint8_t>(w >> 16);
    out[o + 1] = static_cast<std::uint8_t>(w >> 8);
  }
  return (seen & 0x80000000u) == 0 && trailing == 0;
}

void EnsureSodium() {
  // sodium_init is thread-safe and idempotent; the static makes later calls free.
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) {
    throw std::system_error(make_error_code(Errc::kCrypto), "libsodium initialisation failed");
  }
}

// OpenSSL 3's one-shot SHA256() and HMAC() fetch the algorithm on every call
// (about 320 ns and 1.1 us here). For HMAC a fetched algorithm and a
// per-thread context bring that to about 350 ns; if that cannot be set up,
// the one-shot function is used instead.
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

EVP_MAC_CTX* ThreadHmacSha256Context() noexcept {
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx = [] {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // lives for the process
    std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> c(mac ? EVP_MAC_CTX_new(mac) : nullptr);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (c && EVP_MAC_CTX_set_params(c.get(), params) != 1) c.reset();
    return c;
  }();
  return ctx.get();
}

// SHA-256 runs on every Check (the token's hash). OpenSSL's SHA256_Init /
// Update / Final, deprecated in 3.0 but kept through 3.x, run the same
// SHA-NI/AVX2 code as EVP without its dispatch: 56 ns here against 81 ns for
// a reused EVP_MD_CTX (docs/design.md). OpenSSL 4 gets the EVP path.
#if OPENSSL_VERSION_MAJOR < 4
void Sha256Into(const void* data, std::size_t size, std::uint8_t* out) noexcept {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data, size);
  SHA256_Final(out, &ctx);
  // The context holds the input's last block. explicit_bzero (glibc) is a
  // vectorised memset the compiler may not drop; OPENSSL_cleanse is a byte
  // loop several times slower.
  explicit_bzero(&ctx, sizeof ctx);
}
#else
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

void Sha256Into(const void* data, std::size_t size, std::uint8_t* out) noexcept {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // lives for the process
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned int len = 0;
  if (md != nullptr && ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
      EVP_DigestUpdate(ctx.get(), data, size) == 1 && EVP_DigestFinal_ex(ctx.get(), out, &len) == 1) {
    return;
  }
  SHA256(static_cast<const unsigned char*>(data), size, out);
}
#endif

void HmacSha256Into(std::string_view key, std::string_view data, std::uint8_t* out) noexcept {
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t len = 0;
  if (EVP_MAC_CTX* ctx = ThreadHmacSha256Context();
      ctx != nullptr && EVP_MAC_init(ctx, k, key.size(), nullptr) == 1 &&
      EVP_MAC_update(ctx, d, data.size()) == 1 && EVP_MAC_final(ctx, out, &len, 32) == 1) {
    return;
  }
  unsigned int hmac_len = 0;
  HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), out, &hmac_len);
}

constexpr bool IsUuidDash(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes) {
  std::string out(Base64UrlLength(bytes.size()), '\0');
  EncodeInto(bytes.data(), bytes.size(), out.data());
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  return Base64UrlEncode(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

bool Base64UrlDecodeExact(std::string_view text, std::span<std::uint8_t> out) noexcept {
  if (text.size() != Base64UrlLength(out.size())) return false;
  return DecodeInto(text, out.data(), out.size());
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // Lengths 4k+1 cannot come from an encoder; every other length maps to one size.
  if (text.size() % 4 == 1) return std::nullopt;
  const std::size_t n = text.size() / 4 * 3 + (text.size() % 4 == 0 ? 0 : text.size() % 4 - 1);
  std::string out(n, '\0');
  if (!DecodeInto(text, reinterpret_cast<std::uint8_t*>(out.data()), n)) return std::nullopt;
  return out;
}

void RandomBytes(std::span<std::uint8_t> out) {
  EnsureSodium();
  if (!out.empty()) randombytes_buf(out.data(), out.size());  // empty spans may have null data()
}

TokenHash HashToken(const Token& token) noexcept {
  TokenHash hash;
  Sha256Into(token.data(), token.size(), hash.data());
  return hash;
}

std::array<std::uint8_t, 32> Sha256(std::string_view bytes) noexcept {
  std::array<std::uint8_t, 32> hash;
  Sha256Into(bytes.data(), bytes.size(), hash.data());
  return hash;
}

std::string KeyId(std::string_view key, std::string_view pepper) {
  std::array<std::uint8_t, 32> digest;
  if (pepper.empty()) {
    Sha256Into(key.data(), key.size(), digest.data());
  } else {
    HmacSha256Into(pepper, key, digest.data());
  }
  return Base64UrlEncode(std::span<const std::uint8_t>(digest.data(), kKidBytes));
}

bool ConstantTimeEqual(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  // crypto_verify_N compare with vector instructions (about 3 ns for 32
  // bytes); sodium_memcmp goes byte by byte through a volatile (about 40 ns).
  switch (a.size()) {
    case 0:
      return true;  // empty spans may have null data()
    case 16:
      return crypto_verify_16(a.data(), b.data()) == 0;
    case 32:
      return crypto_verify_32(a.data(), b.data()) == 0;
    case 64:
      return crypto_verify_64(a.data(), b.data()) == 0;
    default:
      return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
  }
}

SessionId NewSessionId() {
  SessionId id;
  RandomBytes(id);
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

std::string FormatSessionId(const SessionId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  for (std::uint8_t byte : id) {
    if (IsUuidDash(pos)) ++pos;
    out[pos++] = kHex[byte >> 4];
    out[pos++] = kHex[byte & 0x0f];
  }
  return out;
}

std::optional<SessionId> ParseSessionId(std::string_view text) noexcept {
  if (text.size() != 36) return std::nullopt;
  SessionId id;
  std::size_t pos = 0;
  for (std::uint8_t& byte : id) {
    if (IsUuidDash(pos) && text[pos++] != '-') return std::nullopt;
    const int hi = detail::HexDigitValue(text[pos++]);
    const int lo = detail::HexDigitValue(text[pos++]);
    if (hi < 0 || lo < 0) return std::nullopt;
    byte = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return id;
}

}  // namespace jeff
