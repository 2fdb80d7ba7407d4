#pragma once
/// \file
/// Internal: the sealed form of a record (encryption at rest, Options::at_rest;
/// docs/design.md, "Data at rest"). Format 3 wraps a whole v1, v2 or v4 record:
///   [3, key_id (uint 32), nonce (bin 24), sealed (bin: ciphertext || tag 16)]
/// sealed with XChaCha20-Poly1305 (IETF) under the ring key `key_id`, with
/// the store key (`<prefix><kid>`) as associated data, so that a sealed
/// record moved under another store key fails to open. Readers of formats 1
/// and 2 see a four-element array and refuse it as corrupt (fail closed).

#include <jeff/at_rest.hpp>
#include <jeff/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace jeff {

/// Format 3: a sealed v1, v2 or v4 record.
inline constexpr std::uint64_t kRecordFormatSealed = 3;

/// Throws std::invalid_argument("jeff::Options: ...") unless every key is
/// kAtRestKeyBytes long and no id repeats. Initialises libsodium.
void ValidateAtRest(const AtRestOptions& at_rest);

/// True when `stored` has the first bytes of a sealed record (and so is no
/// v1 or v2 record). Cheap: two byte compares.
inline bool IsSealedRecord(std::string_view stored) noexcept {
  return stored.size() >= 2 && static_cast<std::uint8_t>(stored[0]) == 0x94 /* fixarray 4 */ &&
         static_cast<std::uint8_t>(stored[1]) == kRecordFormatSealed;
}

/// OpenRecord of a sealed record (IsSealedRecord(stored)).
Result<std::string_view> OpenSealedRecord(const AtRestOptions& at_rest, std::string_view store_key,
                                          std::string_view stored, std::string& plain);

/// The v1 or v2 record in `stored`: `stored` itself when it is not sealed
/// (records in clear are always read, without a call); else its plaintext,
/// decrypted into `plain` (the returned view points into it).
/// Errc::kRecordKeyUnknown when its key id is not in `at_rest.keys`;
/// Errc::kStoreCorrupt when the envelope is malformed or fails
/// authentication (tampered bytes, other key bytes under that id, or sealed
/// for another store key). The plaintext is not decoded here.
inline Result<std::string_view> OpenRecord(const AtRestOptions& at_rest, std::string_view store_key,
                                           std::string_view stored, std::string& plain) {
  if (!IsSealedRecord(stored)) return stored;
  return OpenSealedRecord(at_rest, store_key, stored, plain);
}

/// What to store for the encoded record `record` under `store_key`: sealed
/// with at_rest.keys[0] and a fresh random nonce when there is a key and
/// at_rest.seal_writes, else `record` unchanged.
std::string SealRecord(const AtRestOptions& at_rest, std::string_view store_key, std::string record);

}  // namespace jeff
