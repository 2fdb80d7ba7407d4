#pragma once
/// \file
/// The msgpack record stored under one store key: all sessions of one
/// application key. Format v1 (docs/design.md):
///   [1, key (bin), [[id (bin 16), token_hash (bin 32), created_ms (int),
///                    expires_ms (int), last_seen_ms (int), meta (bin)], ...]]

#include <jeff/result.hpp>
#include <jeff/token.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jeff {

/// The record format version written by this library.
inline constexpr std::uint64_t kRecordFormatVersion = 1;

/// One session as stored (owning).
struct StoredSession {
  SessionId id{};
  TokenHash token_hash{};
  std::int64_t created_ms = 0;    ///< Unix ms
  std::int64_t expires_ms = 0;    ///< Unix ms, absolute end of the session
  std::int64_t last_seen_ms = 0;  ///< Unix ms, last (throttled) activity
  std::string meta;               ///< application bytes, opaque to jeff

  bool operator==(const StoredSession&) const = default;
};

/// All sessions of one application key (owning).
struct Record {
  std::string key;                      ///< the application's key (user id, email)
  std::vector<StoredSession> sessions;  ///< in creation order

  bool operator==(const Record&) const = default;
};

/// One session inside an encoded record, without copying: the views point
/// into the encoded bytes and live as long as they do.
struct SessionView {
  std::span<const std::uint8_t, kSessionIdBytes> id;
  std::span<const std::uint8_t, kTokenHashBytes> token_hash;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::string_view meta;
};

/// Encodes `record` as format v1. Throws std::length_error only when the key,
/// a meta or the session count exceeds msgpack's 2^32-1 limit.
std::string EncodeRecord(const Record& record);

/// Validates all of `bytes` as a v1 record and calls `visit` for each session,
/// in order, without allocating. Returns the record's key (a view into
/// `bytes`). Any deviation (truncation, trailing bytes, wrong types or
/// lengths, unknown version, a nesting bomb) is Errc::kStoreCorrupt, and then
/// `visit` may have been called for a prefix of the sessions: callers must not
/// act on what they saw before the failure.
Result<std::string_view> VisitRecord(std::string_view bytes,
                                     const std::function<void(const SessionView&)>& visit);

/// Decodes `bytes` into an owning Record; Errc::kStoreCorrupt on any deviation.
Result<Record> DecodeRecord(std::string_view bytes);

}  // namespace jeff
