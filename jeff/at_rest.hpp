#pragma once
/// \file
/// Encryption at rest of stateful records (Options::at_rest): the stored
/// bytes of a key's record are sealed with XChaCha20-Poly1305 (IETF), so that
/// a dump of the store shows neither the application keys (emails) nor the
/// sessions' meta. See docs/design.md, "Data at rest".

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace jeff {

/// Bytes of an at-rest key (XChaCha20-Poly1305).
inline constexpr std::size_t kAtRestKeyBytes = 32;

/// One key of the at-rest key ring.
struct AtRestKey {
  /// Written beside every record sealed with this key, and how a reader
  /// picks the key to open it with: unique within the ring, and never
  /// reused for different key bytes (a record sealed under the old bytes
  /// would then fail to open, as corrupt).
  std::uint32_t id = 0;
  /// Exactly kAtRestKeyBytes secret random bytes (e.g. 32 bytes from
  /// /dev/urandom), kept like a password.
  std::string key;
};

/// Options::at_rest. Validated with the rest of Options (a key of the wrong
/// length or a repeated id throws std::invalid_argument at construction).
struct AtRestOptions {
  /// The key ring, newest first. Empty (the default): records are written
  /// in clear, exactly as without this feature, and a sealed record read
  /// fails with Errc::kRecordKeyUnknown. Every key opens the records sealed
  /// with it; only the first seals. A record sealed with a key no longer in
  /// the ring fails with Errc::kRecordKeyUnknown (never a session), so drop
  /// a key only after its records were rewritten or expired.
  std::vector<AtRestKey> keys;
  /// Seal what this server writes (with keys[0]). False: write in clear
  /// while still opening sealed records, the first step of a fleet's
  /// rollout (every reader gets the ring before any writer seals) and the
  /// way back. Records in clear are always read, whatever this says.
  bool seal_writes = true;
};

}  // namespace jeff
