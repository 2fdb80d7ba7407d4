#pragma once
// Internal: the content encryption of one JWE with an explicit IV and AAD,
// the same code JweCodec runs, exposed for known-answer tests (RFC 7518
// Appendix B) and tools. Not for production use: a caller-chosen IV must
// never repeat under one key.

#include <jeff/jwe.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jeff::detail {

// Encrypts `plaintext` with `key` (JweKeyBytes(enc) bytes) and `iv`
// (16 bytes for A256CBC-HS512, 12 for A256GCM), authenticating `aad`.
// False when a length is wrong or libcrypto fails.
bool JweSeal(JweEnc enc, std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
             std::string_view aad, std::string_view plaintext, std::vector<std::uint8_t>& ciphertext,
             std::vector<std::uint8_t>& tag);

// Verifies and decrypts; false for any failure (wrong tag, key, lengths).
bool JweOpen(JweEnc enc, std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
             std::string_view aad, std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> tag,
             std::string& plaintext);

}  // namespace jeff::detail
