#pragma once
// Internal: the DBSC proof (W3C "Device Bound Session Credentials"): the
// compact JWS a browser sends in Secure-Session-Response, signed with the
// session's device key. Header {"alg": "ES256" | "RS256", "typ": "dbsc+jwt",
// "jwk": {...} (registration only)}, payload {"jti": "<challenge>"}.
//
// Parsing is strict and fails closed: a size cap before any decoding,
// canonical unpadded base64url, one JSON object per segment without
// duplicate member names, `crit` refused, only ES256 (P-256) and RS256
// (2048..4096-bit modulus) keys. Signatures are verified with OpenSSL 3.

#include <jeff/detail/record.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jeff::detail {

// Signature algorithms, as the record stores them (ext key 3).
using DbscAlg = DeviceKeyAlg;
using DbscThumbprint = std::array<std::uint8_t, kThumbprintBytes>;

// A device's public key as a session record keeps it.
struct DbscKey {
  DbscAlg alg = DbscAlg::kEs256;
  std::vector<std::uint8_t> spki;  // DER SubjectPublicKeyInfo
  DbscThumbprint thumbprint{};  // RFC 7638 JWK thumbprint, SHA-256

  bool operator==(const DbscKey&) const = default;
};

// Why a proof was refused (kNone: accepted so far).
enum class DbscProofError : std::uint8_t {
  kNone,
  kTooLarge,    // longer than the configured maximum: not decoded at all
  kMalformed,   // not three canonical base64url segments of JSON objects, duplicate names, crit, no jti
  kAlgorithm,   // alg other than ES256 / RS256 (none, HS256, ...), or not the bound key's
  kType,        // typ is not "dbsc+jwt"
  kKey,         // jwk missing, of the wrong type or curve, malformed, off the curve, weak
  kSignature,   // the signature does not verify with the key
  kChallenge,   // jti is not the outstanding challenge (wrong, replayed, expired)
};

// Readable name of an error ("none", "too large", ...), for logs and events.
std::string_view ToString(DbscProofError error) noexcept;

// A proof whose header and payload were checked; signature not yet verified.
struct DbscProof {
  DbscAlg alg = DbscAlg::kEs256;
  std::string signing_input;    // `<header>.<payload>` as sent
  std::string signature;        // raw bytes (ES256: r || s, 64 bytes)
  std::string jti;              // the challenge the browser signed
  std::optional<DbscKey> jwk;   // the header's key, validated and converted (registration)
};

// Parses `jwt` (at most `max_bytes` characters). `need_jwk`: the header must
// carry the key (registration); otherwise a jwk is ignored (refresh uses the
// stored key). Does not verify the signature.
[[nodiscard]] DbscProofError ParseDbscProof(std::string_view jwt, std::size_t max_bytes, bool need_jwk,
                                            DbscProof& out);

// Verifies `proof`'s signature with the key `spki` (DER
// SubjectPublicKeyInfo) of algorithm `alg`, which must be the proof's
// (kAlgorithm otherwise). kKey when `spki` is not a key jeff accepts for
// `alg`. Returns kNone when the signature is valid.
[[nodiscard]] DbscProofError VerifyDbscProof(const DbscProof& proof, DbscAlg alg,
                                             std::span<const std::uint8_t> spki);

// Whether `jti` is the base64url text of `nonce`, compared in constant time
// (for a given length).
[[nodiscard]] bool DbscChallengeMatches(std::string_view jti, std::span<const std::uint8_t> nonce);

}  // namespace jeff::detail
