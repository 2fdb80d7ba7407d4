#pragma once
/// \file
/// Compact JWE (RFC 7516) with `alg: dir` and `enc` A256CBC-HS512 or A256GCM
/// (RFC 7518 §5.2.5, §5.3), keyed the way Auth.js v5 (`@auth/core`) keys its
/// session tokens, so that tokens pass both ways between jeff and Auth.js.
/// Backed by OpenSSL's libcrypto and libsodium; no C header is exposed here.

#include <jeff/export.hpp>
#include <jeff/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jeff {

/// A JWE content encryption algorithm.
enum class JweEnc : std::uint8_t {
  kA256CbcHs512,  ///< "A256CBC-HS512": AES-256-CBC + HMAC-SHA-512/256, 64-byte key (Auth.js default)
  kA256Gcm,       ///< "A256GCM": AES-256-GCM, 32-byte key
};

/// The `enc` header value of `enc` ("A256CBC-HS512", "A256GCM").
JEFF_API std::string_view ToString(JweEnc enc) noexcept;

/// Bytes of a content-encryption key for `enc`: 64 or 32.
JEFF_API std::size_t JweKeyBytes(JweEnc enc) noexcept;

/// Shortest secret accepted for key derivation, in bytes (Auth.js asks for 32),
/// unless JweOptions::allow_weak_secrets (StatelessOptions::allow_weak_secrets).
inline constexpr std::size_t kMinJweSecretBytes = 32;

/// True when `secret` is shorter than kMinJweSecretBytes.
inline constexpr bool IsWeakJweSecret(std::string_view secret) noexcept {
  return secret.size() < kMinJweSecretBytes;
}

/// The content-encryption key Auth.js v5 derives from `secret` for `enc`:
/// HKDF-SHA-256(ikm = secret, salt = salt, info = "Auth.js Generated
/// Encryption Key (<salt>)"), JweKeyBytes(enc) bytes. Auth.js uses the
/// session cookie's name as the salt. Throws std::system_error
/// (Errc::kCrypto) only if libcrypto fails.
JEFF_API std::vector<std::uint8_t> DeriveAuthJsKey(std::string_view secret, std::string_view salt,
                                                   JweEnc enc);

/// The RFC 7638 thumbprint of `key` as an `oct` JWK, base64url, as Auth.js
/// computes the `kid` it writes: SHA-512 for a 64-byte key, SHA-256 for a
/// 32-byte one (the hash is named after the key's bit length).
JEFF_API std::string JwkThumbprint(std::span<const std::uint8_t> key);

/// Keys and algorithms of a JweCodec.
struct JweOptions {
  /// Secrets from which keys are derived as Auth.js does (DeriveAuthJsKey),
  /// newest first: the first one encrypts, all decrypt. Each non-empty and
  /// at least kMinJweSecretBytes long, unless `allow_weak_secrets`.
  std::vector<std::string> secrets;
  /// Accept non-empty secrets shorter than kMinJweSecretBytes, as Auth.js
  /// does (any non-empty AUTH_SECRET). Only to share or read the tokens of
  /// an existing app whose secret is short, until it is rotated to a secret
  /// of 32 random bytes or more: a short secret can be guessed offline from
  /// any one token. false: such secrets are refused at construction.
  bool allow_weak_secrets = false;
  /// HKDF salt of `secrets` (Auth.js: the session cookie's name). Required,
  /// non-empty, when `secrets` is not empty.
  std::string salt;
  /// Raw content-encryption keys, 64 bytes (A256CBC-HS512) or 32 (A256GCM),
  /// tried after the derived keys. When `secrets` is empty, the first key of
  /// the size `enc` needs encrypts.
  std::vector<std::string> keys;
  /// What Encrypt writes.
  JweEnc enc = JweEnc::kA256CbcHs512;
  /// Also decrypt tokens made with the other `enc` (Auth.js decodes both).
  /// false: tokens whose `enc` differs from `enc` are refused.
  bool accept_other_enc = true;
  /// Longest token Decrypt looks at, in characters; longer ones are refused.
  std::size_t max_token_chars = 64 * 1024;
};

/// Encrypts and decrypts compact JWE tokens with `alg: dir`.
///
/// Encrypt writes the protected header `{"alg":"dir","enc":...,"kid":...}`
/// (the same bytes Auth.js writes for the same key) and a fresh random IV.
/// Decrypt is strict: five segments, canonical unpadded base64url, an empty
/// encrypted-key segment, a protected header that is a JSON object with
/// `alg` = "dir", an accepted `enc`, an optional string `kid` and nothing
/// else (no `zip`, no `crit`, no duplicates), exact IV and tag lengths, and
/// for A256CBC-HS512 the tag checked in constant time before decrypting.
/// Keys are chosen by `kid` when one matches, else tried in order.
///
/// Thread-safe: one codec serves all threads. Keys are derived once, in the
/// constructor. Each thread keeps pre-keyed cipher and MAC contexts for the
/// last few codecs it used, so that no request re-keys or allocates them;
/// WARNING: those per-thread copies of the keys live until the thread ends
/// or uses other codecs, not only as long as the codec.
class JEFF_API JweCodec {
 public:
  /// Derives the keys. Throws std::invalid_argument when there is no key
  /// for `options.enc`, a secret is empty, a secret is shorter than
  /// kMinJweSecretBytes without `options.allow_weak_secrets` (the message
  /// names that opt-in), a secret has no salt, or a raw key is neither 32
  /// nor 64 bytes.
  explicit JweCodec(JweOptions options);
  /// Wipes the keys held by the codec (not the per-thread copies, see above).
  ~JweCodec();
  /// Moves the codec; the moved-from codec may only be destroyed or
  /// assigned to.
  JweCodec(JweCodec&&) noexcept;
  /// Moves the codec; the moved-from codec may only be destroyed or
  /// assigned to.
  JweCodec& operator=(JweCodec&&) noexcept;
  JweCodec(const JweCodec&) = delete;
  JweCodec& operator=(const JweCodec&) = delete;

  /// The compact JWE of `plaintext`, encrypted with the first key for
  /// enc(). Fails with Errc::kCrypto only if the crypto library does.
  Result<std::string> Encrypt(std::string_view plaintext) const;

  /// Decrypts `token` into `plaintext` (its old content is replaced; its
  /// capacity is reused, so a thread-local buffer makes this allocation-free).
  /// Returns false, and leaves `plaintext` unspecified, for every reason a
  /// token is not ours or not intact: one opaque outcome, never an exception.
  [[nodiscard]] bool Decrypt(std::string_view token, std::string& plaintext) const;

  /// The plaintext of `token`; std::nullopt when Decrypt would return false.
  std::optional<std::string> Decrypt(std::string_view token) const;

  /// The `enc` Encrypt writes.
  JweEnc enc() const noexcept;
  /// The `kid` Encrypt writes (thumbprint of the encrypting key).
  const std::string& kid() const noexcept;

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace jeff
