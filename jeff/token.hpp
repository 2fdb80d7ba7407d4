#pragma once
/// \file
/// Random tokens, session ids, hashing, constant-time comparison and base64url:
/// the small crypto vocabulary of the stateful strategy (DESIGN: "Cookie").
/// Backed by libsodium and OpenSSL's libcrypto; no C header is exposed here.

#include <jeff/export.hpp>
#include <jeff/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace jeff {

inline constexpr std::size_t kTokenBytes = 32;      ///< random bytes in a session token
inline constexpr std::size_t kTokenHashBytes = 32;  ///< SHA-256 of a token
inline constexpr std::size_t kKidBytes = 16;        ///< truncated key hash in the cookie
inline constexpr std::size_t kSessionIdBytes = 16;  ///< a UUIDv4

/// base64url characters of `n` bytes without padding.
constexpr std::size_t Base64UrlLength(std::size_t n) noexcept { return (n * 4 + 2) / 3; }

using Token = std::array<std::uint8_t, kTokenBytes>;          ///< a session token (secret)
using TokenHash = std::array<std::uint8_t, kTokenHashBytes>;  ///< what the store keeps
using SessionId = std::array<std::uint8_t, kSessionIdBytes>;  ///< a UUIDv4, public

/// base64url (RFC 4648 §5) of `bytes`, without padding.
JEFF_API std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
/// base64url of the bytes of `bytes`, without padding.
JEFF_API std::string Base64UrlEncode(std::string_view bytes);

/// Strictly decodes unpadded base64url `text` into `out`, which must be
/// exactly as long as the decoded data. Returns false on any other character,
/// a wrong length, padding, or non-zero trailing bits (one encoding per value).
/// Table-driven, allocation-free: used on every request.
[[nodiscard]] JEFF_API bool Base64UrlDecodeExact(std::string_view text,
                                                std::span<std::uint8_t> out) noexcept;

/// Strictly decodes unpadded base64url of any length; std::nullopt when not
/// canonical base64url (same rules as Base64UrlDecodeExact).
JEFF_API std::optional<std::string> Base64UrlDecode(std::string_view text);

/// Fills `out` from the operating system's CSPRNG. Throws std::system_error
/// (Errc::kCrypto) only if libsodium cannot be initialised.
JEFF_API void RandomBytes(std::span<std::uint8_t> out);

/// SHA-256 of a token: the only form in which a token is stored.
JEFF_API TokenHash HashToken(const Token& token) noexcept;

/// SHA-256 of arbitrary bytes.
JEFF_API std::array<std::uint8_t, 32> Sha256(std::string_view bytes) noexcept;

/// The cookie's key id: base64url of the first 16 bytes of SHA-256(key), or
/// of HMAC-SHA-256(pepper, key) when `pepper` is not empty. 22 characters.
JEFF_API std::string KeyId(std::string_view key, std::string_view pepper = {});

/// Compares two byte strings in time that depends only on their length
/// (libsodium: crypto_verify_16/32/64 for those sizes, else sodium_memcmp).
/// Different lengths compare unequal.
JEFF_API bool ConstantTimeEqual(std::span<const std::uint8_t> a,
                                std::span<const std::uint8_t> b) noexcept;

/// A fresh random UUIDv4 (version and variant bits set).
JEFF_API SessionId NewSessionId();

/// Canonical lowercase 8-4-4-4-12 text of a session id.
JEFF_API std::string FormatSessionId(const SessionId& id);

/// Parses the 36-character UUID text form (either case); std::nullopt otherwise.
JEFF_API std::optional<SessionId> ParseSessionId(std::string_view text) noexcept;

}  // namespace jeff
