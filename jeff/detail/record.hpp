#pragma once
/// \file
/// The msgpack record stored under one store key: all sessions of one
/// application key. Format v1 (docs/design.md):
///   [1, key (bin), [[id (bin 16), token_hash (bin 32), created_ms (int),
///                    expires_ms (int), last_seen_ms (int), meta (bin)], ...]]

#include <jeff/export.hpp>
#include <jeff/result.hpp>
#include <jeff/token.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jeff {

/// The record format version written by this library.
inline constexpr std::uint64_t kRecordFormatVersion = 1;

/// One session as stored (owning).
struct StoredSession {
  SessionId id{};                 ///< public id (UUIDv4)
  TokenHash token_hash{};         ///< SHA-256 of the cookie's token (never the token)
  std::int64_t created_ms = 0;    ///< Unix ms
  std::int64_t expires_ms = 0;    ///< Unix ms, absolute end of the session
  std::int64_t last_seen_ms = 0;  ///< Unix ms, last (throttled) activity
  std::string meta;               ///< application bytes, opaque to jeff

  /// Field-by-field equality.
  bool operator==(const StoredSession&) const = default;
};

/// All sessions of one application key (owning).
struct Record {
  std::string key;                      ///< the application's key (user id, email)
  std::vector<StoredSession> sessions;  ///< in creation order

  /// Field-by-field equality.
  bool operator==(const Record&) const = default;
};

/// One session inside an encoded record, without copying: the views point
/// into the encoded bytes and live as long as they do.
struct SessionView {
  std::span<const std::uint8_t, kSessionIdBytes> id;          ///< as StoredSession::id
  std::span<const std::uint8_t, kTokenHashBytes> token_hash;  ///< as StoredSession::token_hash
  std::int64_t created_ms = 0;    ///< Unix ms
  std::int64_t expires_ms = 0;    ///< Unix ms
  std::int64_t last_seen_ms = 0;  ///< Unix ms
  std::string_view meta;          ///< application bytes
};

/// Encodes `record` as format v1. Throws std::length_error only when the key,
/// a meta or the session count exceeds msgpack's 2^32-1 limit.
std::string EncodeRecord(const Record& record);

/// A pull decoder of a v1 record: validates the bytes as it goes, without
/// allocating or copying. Read the sessions with Next() until it returns
/// false, then call Finish(), which tells whether the whole of the bytes was
/// a valid record. Sessions seen before a failure must not be acted on.
///
///   RecordReader reader(bytes);
///   while (std::optional<SessionView> s = reader.Next()) { ... }
///   Result<std::string_view> key = reader.Finish();
class RecordReader {
 public:
  /// Starts decoding `bytes`, which must outlive the reader and every view
  /// it hands out. Reads the header (version, key, session count) at once.
  explicit RecordReader(std::string_view bytes) noexcept;

  /// Decodes the next session. Returns std::nullopt at the end of the
  /// sessions or at the first deviation from the format.
  std::optional<SessionView> Next() noexcept;

  /// After Next() returned std::nullopt: the record's key (a view into the bytes)
  /// when every byte was a valid v1 record, else Errc::kStoreCorrupt (a
  /// truncation, trailing bytes, wrong types or lengths, an unknown version,
  /// a session count the bytes cannot hold, or a time outside 0 ... kMaxUnixMillis).
  Result<std::string_view> Finish() const noexcept;

  /// The number of sessions the record's header declares (0 when the
  /// header itself is invalid).
  std::uint32_t declared_sessions() const noexcept { return declared_; }

 private:
  const std::uint8_t* at_;
  const std::uint8_t* end_;
  std::string_view key_;
  std::uint32_t declared_ = 0;
  std::uint32_t left_ = 0;  // declared and not read yet
  bool failed_ = false;
};

/// Validates all of `bytes` as a v1 record and calls `visit(const
/// SessionView&)` for each session, in order, without allocating. Returns the
/// record's key (a view into `bytes`). On Errc::kStoreCorrupt `visit` may
/// have been called for a prefix of the sessions: callers must not act on
/// what they saw before the failure.
template <typename Visit>
Result<std::string_view> VisitRecord(std::string_view bytes, Visit&& visit) {
  RecordReader reader(bytes);
  while (const std::optional<SessionView> session = reader.Next()) visit(*session);
  return reader.Finish();
}

/// Decodes `bytes` into an owning Record; Errc::kStoreCorrupt on any deviation
/// (including a time outside 0 ... kMaxUnixMillis).
Result<Record> DecodeRecord(std::string_view bytes);

}  // namespace jeff
