#include <jeff/jwe.hpp>

#include <jeff/detail/c_handle.hpp>
#include <jeff/detail/json.hpp>
#include <jeff/detail/jwe_crypto.hpp>
#include <jeff/token.hpp>

#include <nlohmann/json.hpp>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace jeff {
namespace {

constexpr std::size_t kCbcIvBytes = 16;
constexpr std::size_t kCbcTagBytes = 32;
constexpr std::size_t kGcmIvBytes = 12;
constexpr std::size_t kGcmTagBytes = 16;
constexpr std::size_t kAesBlock = 16;
// A protected header larger than this is not one we would ever accept.
constexpr std::size_t kMaxHeaderBytes = 1024;
// Keeps every length within OpenSSL's int-sized arguments.
constexpr std::size_t kMaxPlaintextBytes = 256 * 1024 * 1024;

constexpr std::size_t IvBytes(JweEnc enc) { return enc == JweEnc::kA256Gcm ? kGcmIvBytes : kCbcIvBytes; }
constexpr std::size_t TagBytes(JweEnc enc) { return enc == JweEnc::kA256Gcm ? kGcmTagBytes : kCbcTagBytes; }
// CBC pads (PKCS#7) to the next whole block; GCM adds nothing.
constexpr std::size_t CiphertextBytes(JweEnc enc, std::size_t plaintext) {
  return enc == JweEnc::kA256Gcm ? plaintext : plaintext + kAesBlock - plaintext % kAesBlock;
}

// Bytes encoded by `chars` characters of unpadded base64url; nullopt for a
// length no canonical encoding has.
std::optional<std::size_t> DecodedBytes(std::size_t chars) {
  if (chars % 4 == 1) return std::nullopt;
  return chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
}

using CipherCtx = detail::CHandle<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using MacCtx = detail::CHandle<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using Cipher = detail::CHandle<EVP_CIPHER, EVP_CIPHER_free>;
using Mac = detail::CHandle<EVP_MAC, EVP_MAC_free>;
using Kdf = detail::CHandle<EVP_KDF, EVP_KDF_free>;
using KdfCtx = detail::CHandle<EVP_KDF_CTX, EVP_KDF_CTX_free>;

[[noreturn]] void ThrowCrypto() {
  ERR_clear_error();
  throw std::system_error(make_error_code(Errc::kCrypto));
}

// Explicitly fetched once: an implicit fetch (EVP_aes_256_cbc() and
// friends) costs a provider lookup on every initialisation.
struct Algorithms {
  Cipher cbc{EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr)};
  Cipher gcm{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)};
  Mac hmac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
};

const Algorithms& Algos() {
  static const Algorithms algorithms = [] {
    Algorithms a;
    if (!a.cbc || !a.gcm || !a.hmac) ThrowCrypto();
    return a;
  }();
  return algorithms;
}

struct Key {
  JweEnc enc;
  std::vector<std::uint8_t> bytes;
  std::string kid;
  // base64url of the header Encrypt writes for this key; a token whose first
  // segment equals it skips header decoding and JSON parsing.
  std::string header_segment;
};

std::string HeaderSegment(JweEnc enc, const std::string& kid) {
  // std::map order (alg, enc, kid) is also the order Auth.js writes.
  const nlohmann::json header = {{"alg", "dir"}, {"enc", std::string(ToString(enc))}, {"kid", kid}};
  return Base64UrlEncode(header.dump());
}

Key MakeKey(JweEnc enc, std::vector<std::uint8_t> bytes) {
  Key key{enc, std::move(bytes), {}, {}};
  key.kid = JwkThumbprint(key.bytes);
  key.header_segment = HeaderSegment(enc, key.kid);
  return key;
}

std::atomic<std::uint64_t> next_codec_id{1};

}  // namespace

std::string_view ToString(JweEnc enc) noexcept {
  return enc == JweEnc::kA256Gcm ? "A256GCM" : "A256CBC-HS512";
}

std::size_t JweKeyBytes(JweEnc enc) noexcept { return enc == JweEnc::kA256Gcm ? 32 : 64; }

std::vector<std::uint8_t> DeriveAuthJsKey(std::string_view secret, std::string_view salt, JweEnc enc) {
  const Kdf kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) ThrowCrypto();
  const KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) ThrowCrypto();
  std::string info = "Auth.js Generated Encryption Key (";
  info.append(salt).append(")");
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; the values are only read.
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  std::vector<std::uint8_t> key(JweKeyBytes(enc));
  if (EVP_KDF_derive(ctx.get(), key.data(), key.size(), params) != 1) ThrowCrypto();
  return key;
}

std::string JwkThumbprint(std::span<const std::uint8_t> key) {
  // RFC 7638: the required members in lexicographic order, no whitespace;
  // nlohmann's std::map-backed object dumps exactly that.
  const nlohmann::json jwk = {{"k", Base64UrlEncode(key)}, {"kty", "oct"}};
  const std::string input = jwk.dump();
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  const EVP_MD* md = key.size() >= 64 ? EVP_sha512() : EVP_sha256();
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_len, md, nullptr) != 1) ThrowCrypto();
  return Base64UrlEncode(std::span<const std::uint8_t>(digest.data(), digest_len));
}

namespace {

// Pre-keyed contexts of one key.
struct KeyContexts {
  CipherCtx encrypt;
  CipherCtx decrypt;
  MacCtx mac;  // A256CBC-HS512 only

  // Keys the contexts; false (and empty contexts) when libcrypto fails.
  bool Init(JweEnc enc, std::span<const std::uint8_t> key);
};

CipherCtx NewCipher(const EVP_CIPHER* cipher, std::span<const std::uint8_t> key, bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  const int ok = encrypt ? EVP_EncryptInit_ex2(ctx.get(), cipher, key.data(), nullptr, nullptr)
                         : EVP_DecryptInit_ex2(ctx.get(), cipher, key.data(), nullptr, nullptr);
  if (ok != 1) return nullptr;
  return ctx;
}

MacCtx NewHmacSha512(std::span<const std::uint8_t> key) {
  MacCtx ctx(EVP_MAC_CTX_new(Algos().hmac.get()));
  if (!ctx) return nullptr;
  char digest[] = "SHA512";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) return nullptr;
  return ctx;
}

bool KeyContexts::Init(JweEnc enc, std::span<const std::uint8_t> key) {
  if (key.size() != JweKeyBytes(enc)) return false;
  if (enc == JweEnc::kA256Gcm) {
    encrypt = NewCipher(Algos().gcm.get(), key, true);
    decrypt = NewCipher(Algos().gcm.get(), key, false);
  } else {
    // RFC 7518 §5.2.2.1: MAC_KEY is the first half, ENC_KEY the second.
    mac = NewHmacSha512(key.first(32));
    encrypt = NewCipher(Algos().cbc.get(), key.subspan(32), true);
    decrypt = NewCipher(Algos().cbc.get(), key.subspan(32), false);
  }
  if (encrypt && decrypt && (enc == JweEnc::kA256Gcm || mac)) return true;
  *this = KeyContexts{};
  ERR_clear_error();
  return false;
}

// RFC 7518 §5.2.2.1: the first 32 bytes of HMAC-SHA-512(MAC_KEY, A || IV || E || AL),
// AL being the bit length of the AAD as a 64-bit big-endian integer.
bool CbcTag(EVP_MAC_CTX* mac, std::string_view aad, std::span<const std::uint8_t> iv,
            std::span<const std::uint8_t> ciphertext, std::span<std::uint8_t, kCbcTagBytes> tag) {
  std::array<std::uint8_t, 8> al{};
  const std::uint64_t bits = static_cast<std::uint64_t>(aad.size()) * 8;
  for (std::size_t i = 0; i < al.size(); ++i) al[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
  std::array<std::uint8_t, 64> full{};
  std::size_t full_len = 0;
  const bool ok = EVP_MAC_init(mac, nullptr, 0, nullptr) == 1 &&
                  EVP_MAC_update(mac, reinterpret_cast<const unsigned char*>(aad.data()), aad.size()) == 1 &&
                  EVP_MAC_update(mac, iv.data(), iv.size()) == 1 &&
                  EVP_MAC_update(mac, ciphertext.data(), ciphertext.size()) == 1 &&
                  EVP_MAC_update(mac, al.data(), al.size()) == 1 &&
                  EVP_MAC_final(mac, full.data(), &full_len, full.size()) == 1 && full_len == full.size();
  std::copy_n(full.begin(), tag.size(), tag.begin());
  OPENSSL_cleanse(full.data(), full.size());
  return ok;
}

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
int Int(std::size_t n) { return static_cast<int>(n); }

// Encrypts `plaintext` into `ciphertext` (CiphertextBytes long) and writes the tag.
bool Seal(KeyContexts& kc, JweEnc enc, std::span<const std::uint8_t> iv, std::string_view aad,
          std::string_view plaintext, std::span<std::uint8_t> ciphertext, std::span<std::uint8_t> tag) {
  if (iv.size() != IvBytes(enc) || tag.size() != TagBytes(enc) || plaintext.size() > kMaxPlaintextBytes) {
    return false;
  }
  EVP_CIPHER_CTX* ctx = kc.encrypt.get();
  int len = 0;
  int final_len = 0;
  int aad_len = 0;
  bool ok = ciphertext.size() == CiphertextBytes(enc, plaintext.size()) &&
            EVP_EncryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr) == 1;
  if (enc == JweEnc::kA256Gcm) {
    ok = ok && EVP_EncryptUpdate(ctx, nullptr, &aad_len, Bytes(aad), Int(aad.size())) == 1 &&
         EVP_EncryptUpdate(ctx, ciphertext.data(), &len, Bytes(plaintext), Int(plaintext.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, ciphertext.data() + len, &final_len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int(tag.size()), tag.data()) == 1;
  } else {
    ok = ok && EVP_EncryptUpdate(ctx, ciphertext.data(), &len, Bytes(plaintext), Int(plaintext.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, ciphertext.data() + len, &final_len) == 1 &&
         CbcTag(kc.mac.get(), aad, iv, ciphertext, tag.first<kCbcTagBytes>());
  }
  ok = ok && static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len) == ciphertext.size();
  if (!ok) ERR_clear_error();
  return ok;
}

// Authenticates and decrypts into `plaintext`; false for any failure.
bool Open(KeyContexts& kc, JweEnc enc, std::span<const std::uint8_t> iv, std::string_view aad,
          std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> tag, std::string& plaintext) {
  if (iv.size() != IvBytes(enc) || tag.size() != TagBytes(enc) || ciphertext.size() > kMaxPlaintextBytes) {
    return false;
  }
  EVP_CIPHER_CTX* ctx = kc.decrypt.get();
  int len = 0;
  int final_len = 0;
  int aad_len = 0;
  bool ok = false;
  if (enc == JweEnc::kA256Gcm) {
    plaintext.resize(ciphertext.size());
    // GCM decrypts before the tag is known; the output is discarded unless
    // EVP_DecryptFinal_ex verifies the tag.
    ok = EVP_DecryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr) == 1 &&
         EVP_DecryptUpdate(ctx, nullptr, &aad_len, Bytes(aad), Int(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx, Bytes(plaintext), &len, ciphertext.data(), Int(ciphertext.size())) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int(tag.size()), const_cast<std::uint8_t*>(tag.data())) == 1 &&
         EVP_DecryptFinal_ex(ctx, Bytes(plaintext) + len, &final_len) == 1;
  } else {
    if (ciphertext.empty() || ciphertext.size() % kAesBlock != 0) return false;
    std::array<std::uint8_t, kCbcTagBytes> expected{};
    if (!CbcTag(kc.mac.get(), aad, iv, ciphertext, expected)) {
      ERR_clear_error();
      return false;
    }
    // Authenticate first: nothing is decrypted for a forgery, so there is no
    // padding oracle.
    if (!ConstantTimeEqual(expected, tag)) return false;
    plaintext.resize(ciphertext.size());
    ok = EVP_DecryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr) == 1 &&
         EVP_DecryptUpdate(ctx, Bytes(plaintext), &len, ciphertext.data(), Int(ciphertext.size())) == 1 &&
         EVP_DecryptFinal_ex(ctx, Bytes(plaintext) + len, &final_len) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    return false;
  }
  plaintext.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len));
  return true;
}

struct CodecContexts {
  std::uint64_t codec_id = 0;
  std::vector<KeyContexts> keys;
};

// A few codecs per thread: one Sessions object normally has one, tests and
// tools have more; the oldest slot is reused.
struct ThreadContexts {
  std::array<CodecContexts, 4> slots;
  std::size_t next = 0;
};

thread_local ThreadContexts thread_contexts;

// The calling thread's contexts for keys[index] of codec `codec_id`, keyed on
// first use. nullptr only when libcrypto fails.
KeyContexts* ContextsFor(std::uint64_t codec_id, const std::vector<Key>& keys, std::size_t index) {
  ThreadContexts& tc = thread_contexts;
  CodecContexts* slot = nullptr;
  for (CodecContexts& s : tc.slots) {
    if (s.codec_id == codec_id) slot = &s;
  }
  if (slot == nullptr) {
    slot = &tc.slots[tc.next];
    tc.next = (tc.next + 1) % tc.slots.size();
    slot->codec_id = codec_id;
    slot->keys.clear();
    slot->keys.resize(keys.size());
  }
  KeyContexts& kc = slot->keys[index];
  if (!kc.decrypt && !kc.Init(keys[index].enc, keys[index].bytes)) return nullptr;
  return &kc;
}

// The segments of a compact JWE; false unless there are exactly five.
bool SplitCompact(std::string_view token, std::array<std::string_view, 5>& parts) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t dot = token.find('.', start);
    if (dot == std::string_view::npos) return false;
    parts[i] = token.substr(start, dot - start);
    start = dot + 1;
  }
  parts[4] = token.substr(start);
  return parts[4].find('.') == std::string_view::npos;
}

bool ParseEnc(std::string_view text, JweEnc& enc) {
  if (text == "A256CBC-HS512") {
    enc = JweEnc::kA256CbcHs512;
  } else if (text == "A256GCM") {
    enc = JweEnc::kA256Gcm;
  } else {
    return false;
  }
  return true;
}

// Strictly parses a protected header: a JSON object with alg "dir", a known
// enc, an optional string kid, and no other or repeated member.
// `kid` views the thread's JSON parser: valid until its next parse.
bool ParseHeader(std::string_view segment, JweEnc& enc, std::optional<std::string_view>& kid) {
  const auto size = DecodedBytes(segment.size());
  if (!size || *size > kMaxHeaderBytes || *size == 0) return false;
  std::array<std::uint8_t, kMaxHeaderBytes + simdjson::SIMDJSON_PADDING> buffer{};
  if (!Base64UrlDecodeExact(segment, std::span<std::uint8_t>(buffer.data(), *size))) return false;
  simdjson::dom::element root;
  if (detail::ThreadJsonParser().parse(buffer.data(), *size, false).get(root) != simdjson::SUCCESS) return false;
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return false;
  bool has_alg = false;
  bool has_enc = false;
  for (const auto field : object) {
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) return false;
    if (field.key == "alg" && !has_alg) {
      if (value != "dir") return false;
      has_alg = true;
    } else if (field.key == "enc" && !has_enc) {
      if (!ParseEnc(value, enc)) return false;
      has_enc = true;
    } else if (field.key == "kid" && !kid) {
      kid.emplace(value);
    } else {
      return false;  // zip, crit, any other member, or a repeated one
    }
  }
  return has_alg && has_enc;
}

}  // namespace

struct JweCodec::Impl {
  std::uint64_t id = next_codec_id.fetch_add(1, std::memory_order_relaxed);
  std::vector<Key> keys;  // derived keys (per secret: both encs), then raw keys
  std::size_t encrypt_key = 0;
  JweEnc enc = JweEnc::kA256CbcHs512;
  bool accept_other_enc = true;
  std::size_t max_token_chars = 0;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    for (Key& key : keys) OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
  }

  bool Accepts(JweEnc e) const noexcept { return e == enc || accept_other_enc; }

  bool DecryptWith(std::size_t index, std::string_view aad, std::span<const std::uint8_t> iv,
                   std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> tag,
                   std::string& plaintext) const {
    KeyContexts* kc = ContextsFor(id, keys, index);
    return kc != nullptr && Open(*kc, keys[index].enc, iv, aad, ciphertext, tag, plaintext);
  }
};

namespace detail {

bool JweSeal(JweEnc enc, std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
             std::string_view aad, std::string_view plaintext, std::vector<std::uint8_t>& ciphertext,
             std::vector<std::uint8_t>& tag) {
  KeyContexts kc;
  if (!kc.Init(enc, key)) return false;
  ciphertext.resize(CiphertextBytes(enc, plaintext.size()));
  tag.resize(TagBytes(enc));
  return Seal(kc, enc, iv, aad, plaintext, ciphertext, tag);
}

bool JweOpen(JweEnc enc, std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
             std::string_view aad, std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> tag,
             std::string& plaintext) {
  KeyContexts kc;
  return kc.Init(enc, key) && Open(kc, enc, iv, aad, ciphertext, tag, plaintext);
}

}  // namespace detail

JweCodec::JweCodec(JweOptions options) {
  Algos();  // fails here, at construction, rather than on a request
  auto impl = std::make_unique<Impl>();
  impl->enc = options.enc;
  impl->accept_other_enc = options.accept_other_enc;
  impl->max_token_chars = options.max_token_chars;
  if (!options.secrets.empty() && options.salt.empty()) {
    throw std::invalid_argument("jeff: JWE secrets need a salt (Auth.js uses the cookie name)");
  }
  for (const std::string& secret : options.secrets) {
    if (secret.empty()) throw std::invalid_argument("jeff: a JWE secret is empty");
    if (IsWeakJweSecret(secret) && !options.allow_weak_secrets) {
      throw std::invalid_argument(
          "jeff: a JWE secret is shorter than 32 bytes. Use one of 32 random bytes or more "
          "(openssl rand -base64 33); to read the tokens of an existing app whose secret is short "
          "until it is rotated, opt in with allow_weak_secrets (Options::stateless, JweOptions)");
    }
    for (const JweEnc enc : {JweEnc::kA256CbcHs512, JweEnc::kA256Gcm}) {
      if (impl->Accepts(enc)) impl->keys.push_back(MakeKey(enc, DeriveAuthJsKey(secret, options.salt, enc)));
    }
  }
  for (const std::string& raw : options.keys) {
    if (raw.size() != 64 && raw.size() != 32) {
      throw std::invalid_argument("jeff: a raw JWE key must be 64 bytes (A256CBC-HS512) or 32 (A256GCM)");
    }
    const JweEnc enc = raw.size() == 64 ? JweEnc::kA256CbcHs512 : JweEnc::kA256Gcm;
    if (impl->Accepts(enc)) {
      const auto* data = reinterpret_cast<const std::uint8_t*>(raw.data());
      impl->keys.push_back(MakeKey(enc, std::vector<std::uint8_t>(data, data + raw.size())));
    }
  }
  const auto first = std::find_if(impl->keys.begin(), impl->keys.end(),
                                  [&](const Key& k) { return k.enc == options.enc; });
  if (first == impl->keys.end()) {
    throw std::invalid_argument("jeff: no JWE secret or key for " + std::string(ToString(options.enc)));
  }
  impl->encrypt_key = static_cast<std::size_t>(first - impl->keys.begin());
  impl_ = std::move(impl);
}

JweCodec::~JweCodec() = default;
JweCodec::JweCodec(JweCodec&&) noexcept = default;
JweCodec& JweCodec::operator=(JweCodec&&) noexcept = default;

JweEnc JweCodec::enc() const noexcept { return impl_->enc; }

const std::string& JweCodec::kid() const noexcept { return impl_->keys[impl_->encrypt_key].kid; }

Result<std::string> JweCodec::Encrypt(std::string_view plaintext) const {
  if (plaintext.size() > kMaxPlaintextBytes) return Errc::kInvalidArgument;
  const Key& key = impl_->keys[impl_->encrypt_key];
  KeyContexts* kc = ContextsFor(impl_->id, impl_->keys, impl_->encrypt_key);
  if (kc == nullptr) return Errc::kCrypto;
  std::array<std::uint8_t, kCbcIvBytes> iv_buffer{};
  std::array<std::uint8_t, kCbcTagBytes> tag_buffer{};
  const std::span<std::uint8_t> iv(iv_buffer.data(), IvBytes(key.enc));
  const std::span<std::uint8_t> tag(tag_buffer.data(), TagBytes(key.enc));
  try {
    RandomBytes(iv);
  } catch (const std::system_error& e) {
    return e.code();
  }
  std::vector<std::uint8_t> ciphertext(CiphertextBytes(key.enc, plaintext.size()));
  if (!Seal(*kc, key.enc, iv, key.header_segment, plaintext, ciphertext, tag)) return Errc::kCrypto;
  std::string token;
  token.reserve(key.header_segment.size() + 4 + Base64UrlLength(iv.size()) + Base64UrlLength(ciphertext.size()) +
                Base64UrlLength(tag.size()));
  token.append(key.header_segment).append("..");
  token.append(Base64UrlEncode(iv)).push_back('.');
  token.append(Base64UrlEncode(ciphertext)).push_back('.');
  token.append(Base64UrlEncode(tag));
  return token;
}

bool JweCodec::Decrypt(std::string_view token, std::string& plaintext) const {
  const Impl& impl = *impl_;
  if (token.size() > impl.max_token_chars) return false;
  std::array<std::string_view, 5> parts;
  if (!SplitCompact(token, parts)) return false;
  const auto [header, encrypted_key, iv_text, ciphertext_text, tag_text] = parts;
  if (!encrypted_key.empty()) return false;  // alg "dir" has no encrypted key

  // Tokens we (or Auth.js, with the same key) wrote carry a header we know
  // byte for byte: skip decoding and parsing it.
  std::optional<std::size_t> known;
  for (std::size_t i = 0; i < impl.keys.size() && !known; ++i) {
    if (impl.keys[i].header_segment == header) known = i;
  }
  JweEnc enc = JweEnc::kA256CbcHs512;
  std::optional<std::string_view> kid;
  if (known) {
    enc = impl.keys[*known].enc;
  } else if (!ParseHeader(header, enc, kid) || !impl.Accepts(enc)) {
    return false;
  }

  const std::size_t iv_size = IvBytes(enc);
  const std::size_t tag_size = TagBytes(enc);
  if (iv_text.size() != Base64UrlLength(iv_size) || tag_text.size() != Base64UrlLength(tag_size)) return false;
  std::array<std::uint8_t, kCbcIvBytes> iv{};
  std::array<std::uint8_t, kCbcTagBytes> tag{};
  const std::span<std::uint8_t> iv_span(iv.data(), iv_size);
  const std::span<std::uint8_t> tag_span(tag.data(), tag_size);
  if (!Base64UrlDecodeExact(iv_text, iv_span) || !Base64UrlDecodeExact(tag_text, tag_span)) return false;

  const auto ct_size = DecodedBytes(ciphertext_text.size());
  if (!ct_size || *ct_size > kMaxPlaintextBytes) return false;
  thread_local std::vector<std::uint8_t> ciphertext;
  ciphertext.resize(*ct_size);
  if (!Base64UrlDecodeExact(ciphertext_text, ciphertext)) return false;

  // The key: the one whose header matched, else the one whose kid matches,
  // else every key for this enc in order.
  if (known) return impl.DecryptWith(*known, header, iv_span, ciphertext, tag_span, plaintext);
  if (kid) {
    for (std::size_t i = 0; i < impl.keys.size(); ++i) {
      if (impl.keys[i].enc == enc && impl.keys[i].kid == *kid) {
        return impl.DecryptWith(i, header, iv_span, ciphertext, tag_span, plaintext);
      }
    }
  }
  for (std::size_t i = 0; i < impl.keys.size(); ++i) {
    if (impl.keys[i].enc == enc && impl.DecryptWith(i, header, iv_span, ciphertext, tag_span, plaintext)) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> JweCodec::Decrypt(std::string_view token) const {
  std::string plaintext;
  if (!Decrypt(token, plaintext)) return std::nullopt;
  return plaintext;
}

}  // namespace jeff
