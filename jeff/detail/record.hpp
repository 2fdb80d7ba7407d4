#pragma once
/// \file
/// The msgpack record stored under one store key: all sessions of one
/// application key (docs/design.md, "Formats"). Format v1:
///   [1, key (bin), [[id (bin 16), token_hash (bin 32), created_ms (int),
///                    expires_ms (int), last_seen_ms (int), meta (bin)], ...]]
/// Format v2 gives each session a seventh field, `ext`: a map of optional
/// entries under positive int keys 1..5 in strictly ascending order:
///   [2, key, [[id, token_hash, created_ms, expires_ms, last_seen_ms, meta, ext], ...]]
/// Format v4 (moves between pepper key ids, docs/design.md "Moving records
/// to the newest key id") is v2 plus a fourth element, a record-level map:
///   [4, key, [[... v2 session, ext may hold key 6 ...], ...], {1: moved_to, 2: absorbed}]
/// EncodeRecord writes v1 whenever no session carries an ext entry, v4
/// whenever the record or a session carries a move field, else v2; the
/// readers accept all three. Anything else in `ext` (an unknown key, keys out of
/// order or repeated, a wrong type, length or time) is Errc::kStoreCorrupt:
/// a reader must never rewrite a record without the fields it does not know.

#include <jeff/export.hpp>
#include <jeff/result.hpp>
#include <jeff/token.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jeff {

/// Format v1: written when no session carries an ext entry.
inline constexpr std::uint64_t kRecordFormatV1 = 1;
/// Format v2: every session has an ext map (written when one needs it).
inline constexpr std::uint64_t kRecordFormatV2 = 2;
/// Format v4: v2 plus the record-level move map (3 is the sealed format).
inline constexpr std::uint64_t kRecordFormatV4 = 4;

/// A move's random id (format v4).
using MoveId = std::array<std::uint8_t, 16>;
/// Length of a key id (base64url of 16 bytes) as the move fields store it.
inline constexpr std::size_t kKeyIdChars = 22;

/// Ext key 3: the algorithm of a device key (DBSC).
enum class DeviceKeyAlg : std::uint8_t {
  kEs256 = 1,  ///< ECDSA P-256 with SHA-256
  kRs256 = 2,  ///< RSASSA-PKCS1-v1_5 with SHA-256
};

inline constexpr std::size_t kMaxSpkiBytes = 2048;   ///< ext key 3: longest DER SubjectPublicKeyInfo
inline constexpr std::size_t kThumbprintBytes = 32;  ///< ext key 3: RFC 7638 JWK SHA-256 thumbprint
inline constexpr std::size_t kMinNonceBytes = 16;    ///< ext key 4: shortest challenge nonce
inline constexpr std::size_t kMaxNonceBytes = 64;    ///< ext key 4: longest challenge nonce
inline constexpr std::size_t kMaxBoundCookies = 2;   ///< ext key 5: most bound cookies kept

/// Ext key 3 (owning): the device key bound to a session (DBSC).
struct StoredDeviceKey {
  DeviceKeyAlg alg = DeviceKeyAlg::kEs256;                 ///< 1 = ES256, 2 = RS256
  std::vector<std::uint8_t> spki;                          ///< DER SubjectPublicKeyInfo, 1..kMaxSpkiBytes
  std::array<std::uint8_t, kThumbprintBytes> thumbprint{};  ///< RFC 7638 thumbprint (SHA-256)

  /// Field-by-field equality.
  bool operator==(const StoredDeviceKey&) const = default;
};

/// Ext key 4 (owning): the outstanding single-use DBSC challenge.
struct StoredChallenge {
  std::vector<std::uint8_t> nonce;  ///< kMinNonceBytes..kMaxNonceBytes
  std::int64_t expires_ms = 0;      ///< Unix ms

  /// Field-by-field equality.
  bool operator==(const StoredChallenge&) const = default;
};

/// Ext key 5 entry (owning): a short-lived bound cookie still accepted (DBSC).
struct StoredBoundCookie {
  TokenHash token_hash{};       ///< SHA-256 of the bound cookie's token
  std::int64_t expires_ms = 0;  ///< Unix ms

  /// Field-by-field equality.
  bool operator==(const StoredBoundCookie&) const = default;
};

/// Ext key 6 (owning), and the record-level moved_to entry: a key id and
/// the move it belongs to (format v4).
struct StoredMoveRef {
  std::string kid;  ///< exactly kKeyIdChars base64url characters
  MoveId move_id{};  ///< the move

  /// Field-by-field equality.
  bool operator==(const StoredMoveRef&) const = default;
};

/// A record-level absorbed entry (owning): move `move_id` from the record
/// under `origin_kid` was copied into this record; kept until `until_ms`.
struct StoredAbsorbed {
  std::string origin_kid;     ///< exactly kKeyIdChars characters
  MoveId move_id{};           ///< the move
  std::int64_t until_ms = 0;  ///< Unix ms: the origin's latest session expiry

  /// Field-by-field equality.
  bool operator==(const StoredAbsorbed&) const = default;
};

/// One session as stored (owning).
struct StoredSession {
  SessionId id{};                 ///< public id (UUIDv4)
  TokenHash token_hash{};         ///< SHA-256 of the cookie's token (never the token)
  std::int64_t created_ms = 0;    ///< Unix ms
  std::int64_t expires_ms = 0;    ///< Unix ms, absolute end of the session
  std::int64_t last_seen_ms = 0;  ///< Unix ms, last (throttled) activity
  std::string meta;               ///< application bytes, opaque to jeff
  // The ext entries (format v2). Every write keeps the ones it does not set.
  /// Ext key 1: the cookie kind the login chose (true: Max-Age cookie,
  /// false: browser-session cookie). std::nullopt: as Options::max_age
  /// implies (0: browser session).
  std::optional<bool> persistent;
  /// Ext key 2: Unix ms of the last (re)authentication. std::nullopt: created_ms.
  std::optional<std::int64_t> authenticated_at_ms;
  /// Ext key 3: the bound device key. std::nullopt: unbound.
  std::optional<StoredDeviceKey> device_key;
  /// Ext key 4: the outstanding challenge. std::nullopt: none.
  std::optional<StoredChallenge> challenge;
  /// Ext key 5: bound cookies still accepted, newest first, at most
  /// kMaxBoundCookies. Empty: none.
  std::vector<StoredBoundCookie> bound_cookies;
  /// Ext key 6 (format v4): this session is a copy made by a move from the
  /// record under `origin->kid`; it is live only while that record is
  /// frozen under `origin->move_id`. std::nullopt: not a copy.
  std::optional<StoredMoveRef> origin;

  /// True when the session carries any ext entry (and so needs format v2 or v4).
  bool HasExt() const noexcept {
    return persistent || authenticated_at_ms || device_key || challenge || !bound_cookies.empty() || origin;
  }
  /// Field-by-field equality.
  bool operator==(const StoredSession&) const = default;
};

/// All sessions of one application key (owning).
struct Record {
  std::string key;                      ///< the application's key (user id, email)
  std::vector<StoredSession> sessions;  ///< in creation order
  /// Record key 1 (format v4): frozen, its sessions move to the record
  /// under `moved_to->kid` by move `moved_to->move_id`; nobody writes it
  /// again. std::nullopt: not frozen.
  std::optional<StoredMoveRef> moved_to;
  /// Record key 2 (format v4): the moves absorbed into this record. Empty: none.
  std::vector<StoredAbsorbed> absorbed;

  /// True when the record needs format v4.
  bool HasMoves() const noexcept {
    return moved_to || !absorbed.empty() ||
           std::any_of(sessions.begin(), sessions.end(), [](const StoredSession& s) { return s.origin.has_value(); });
  }
  /// Field-by-field equality.
  bool operator==(const Record&) const = default;
};

/// A key id and a move inside an encoded record (views into its bytes).
struct MoveRefView {
  std::string_view kid;                              ///< kKeyIdChars characters
  std::span<const std::uint8_t, sizeof(MoveId)> move_id;  ///< the move
};

/// Ext key 3 inside an encoded record (views into its bytes).
struct DeviceKeyView {
  DeviceKeyAlg alg = DeviceKeyAlg::kEs256;                    ///< as StoredDeviceKey::alg
  std::span<const std::uint8_t> spki;                         ///< 1..kMaxSpkiBytes
  std::span<const std::uint8_t, kThumbprintBytes> thumbprint;  ///< as StoredDeviceKey::thumbprint
};

/// Ext key 4 inside an encoded record (a view into its bytes).
struct ChallengeView {
  std::span<const std::uint8_t> nonce;  ///< kMinNonceBytes..kMaxNonceBytes
  std::int64_t expires_ms = 0;          ///< Unix ms
};

/// An ext key 5 entry inside an encoded record (a view into its bytes).
struct BoundCookieView {
  std::span<const std::uint8_t> token_hash;  ///< always kTokenHashBytes
  std::int64_t expires_ms = 0;               ///< Unix ms
};

/// Ext key 5 inside an encoded record: the bound cookies, newest first
/// (empty: none), as a small range of views.
struct BoundCookiesView {
  std::array<BoundCookieView, kMaxBoundCookies> slots{};  ///< the first size() are set
  std::size_t count = 0;                                  ///< entries in slots

  /// Number of bound cookies (0 ... kMaxBoundCookies).
  std::size_t size() const noexcept { return count; }
  /// True when there is none.
  bool empty() const noexcept { return count == 0; }
  /// The `i`th (0: newest); precondition i < size().
  const BoundCookieView& operator[](std::size_t i) const noexcept { return slots[i]; }
  /// Iteration, newest first.
  const BoundCookieView* begin() const noexcept { return slots.data(); }
  /// End of iteration.
  const BoundCookieView* end() const noexcept { return slots.data() + count; }
};

/// One session inside an encoded record, without copying: the views point
/// into the encoded bytes and live as long as they do. The ext entries
/// mean what StoredSession's do; the accessors read them from the
/// (already validated) ext map when asked, so a reader that needs none pays
/// nothing for them. In a v1 record they are all absent.
struct SessionView {
  std::span<const std::uint8_t, kSessionIdBytes> id;          ///< as StoredSession::id
  std::span<const std::uint8_t, kTokenHashBytes> token_hash;  ///< as StoredSession::token_hash
  std::int64_t created_ms = 0;    ///< Unix ms
  std::int64_t expires_ms = 0;    ///< Unix ms
  std::int64_t last_seen_ms = 0;  ///< Unix ms
  std::string_view meta;          ///< application bytes
  /// The encoded ext map, validated by the reader (empty in a v1 record).
  std::span<const std::uint8_t> ext{};

  /// Ext key 1 (see StoredSession::persistent).
  std::optional<bool> persistent() const noexcept;
  /// Ext key 2 (see StoredSession::authenticated_at_ms).
  std::optional<std::int64_t> authenticated_at_ms() const noexcept;
  /// Ext key 3 (see StoredSession::device_key).
  std::optional<DeviceKeyView> device_key() const noexcept;
  /// Ext key 4 (see StoredSession::challenge).
  std::optional<ChallengeView> challenge() const noexcept;
  /// Ext key 5 (see StoredSession::bound_cookies).
  BoundCookiesView bound_cookies() const noexcept;
  /// Ext key 6 (see StoredSession::origin).
  std::optional<MoveRefView> origin() const noexcept;
};

/// Encodes `record`: format v4 when it carries a move field
/// (Record::HasMoves), else v1 (byte for byte what earlier versions wrote)
/// when no session carries an ext entry, else v2. Throws std::length_error
/// only when the key, a meta or the session count exceeds msgpack's 2^32-1
/// limit, and std::invalid_argument for an ext entry the format does not
/// allow (a length, count, algorithm or time out of range), so that it
/// never writes a record the reader would refuse.
std::string EncodeRecord(const Record& record);

/// A pull decoder of a v1, v2 or v4 record: validates the bytes as it goes, without
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
  /// when every byte was a valid v1, v2 or v4 record, else Errc::kStoreCorrupt
  /// (a truncation, trailing bytes, wrong types or lengths, an unknown
  /// version, a session count the bytes cannot hold, a time outside
  /// 0 ... kMaxUnixMillis, or an ext map with an unknown, repeated or
  /// out-of-order key).
  Result<std::string_view> Finish() const noexcept;

  /// The number of sessions the record's header declares (0 when the
  /// header itself is invalid).
  std::uint32_t declared_sessions() const noexcept { return declared_; }

  /// After Finish() succeeded: record key 1 (see Record::moved_to).
  std::optional<MoveRefView> moved_to() const noexcept;
  /// After Finish() succeeded: record key 2, the validated encoded array
  /// (empty: none); DecodeRecord reads its entries.
  std::span<const std::uint8_t> absorbed() const noexcept { return absorbed_; }
  /// After Finish() succeeded: whether record key 2 lists move `id`.
  bool HasAbsorbed(std::span<const std::uint8_t, sizeof(MoveId)> id) const noexcept;

  /// Instead of Next(): reads every session left (and a v4 record's
  /// record-level map), comparing each session's token hash with
  /// `token_hash` in constant time (libsodium's crypto_verify_32, every
  /// session whatever matched), and returns what Finish() returns; the
  /// accessors above then answer as after Next() and Finish(). `match` is
  /// set to the last matching session (views into the bytes, as Next()
  /// gives); the others are validated but never made into views. Check's
  /// read of a record. On Errc::kStoreCorrupt `match` must not be acted on.
  Result<std::string_view> FindTokenHash(std::span<const std::uint8_t, kTokenHashBytes> token_hash,
                                         std::optional<SessionView>& match) noexcept;

 private:
  std::optional<SessionView> NextV2() noexcept;
  // After the last session of a v4 record: reads the record-level map.
  void ReadTail() noexcept;
  // After reading a session: counts it, or marks the failure.
  void Count(bool read) noexcept {
    if (read) {
      --left_;
    } else {
      failed_ = true;
    }
  }

  const std::uint8_t* at_;
  const std::uint8_t* end_;
  std::string_view key_;
  std::uint32_t declared_ = 0;
  std::uint32_t left_ = 0;  // declared and not read yet
  bool v2_ = false;         // sessions carry an ext map
  bool v4_ = false;         // a record-level map follows the sessions
  bool failed_ = false;
  std::span<const std::uint8_t> moved_to_{};  // record key 1's value, validated
  std::span<const std::uint8_t> absorbed_{};  // record key 2's value, validated
};

/// Validates all of `bytes` as a v1, v2 or v4 record and calls `visit(const
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
