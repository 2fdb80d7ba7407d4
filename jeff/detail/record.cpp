#include <jeff/detail/record.hpp>

#include <jeff/clock.hpp>

#include <msgpack/pack.hpp>
#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace jeff {
namespace {

constexpr std::uint32_t kRecordFields = 3;
constexpr std::uint32_t kRecordFieldsV4 = 4;  // v2's and the record-level map
constexpr std::uint32_t kSessionFieldsV1 = 6;
constexpr std::uint32_t kSessionFieldsV2 = 7;  // v1's and the ext map
// The smallest encoded v1 session: fixarray, bin8 16, bin8 32, three fixints,
// empty bin8. A v2 session is at least one byte (an empty fixmap) longer.
constexpr std::size_t kMinEncodedSession =
    1 + (2 + kSessionIdBytes) + (2 + kTokenHashBytes) + 3 + 2;

// The ext map's keys (docs/design.md, "Formats").
enum ExtKey : std::int64_t {
  kExtPersistent = 1,
  kExtAuthenticatedAt = 2,
  kExtDeviceKey = 3,
  kExtChallenge = 4,
  kExtBoundCookies = 5,
  kExtOrigin = 6,
};
// The record-level map's keys (format v4).
enum RecordKey : std::int64_t {
  kRecordMovedTo = 1,
  kRecordAbsorbed = 2,
};
constexpr std::uint32_t kMoveRefFields = 2;
constexpr std::uint32_t kAbsorbedFields = 3;
constexpr std::uint32_t kDeviceKeyFields = 3;
constexpr std::uint32_t kChallengeFields = 2;
constexpr std::uint32_t kBoundCookieFields = 2;

// A msgpack-c output stream that appends straight into the result string.
struct StringStream {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};

std::uint32_t CheckedSize(std::size_t size, const char* what) {
  if (size > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error(std::string("jeff::EncodeRecord: ") + what + " exceeds 4 GiB");
  }
  return static_cast<std::uint32_t>(size);
}

void PackBin(msgpack::packer<StringStream>& packer, const void* data, std::size_t size,
             const char* what) {
  const std::uint32_t n = CheckedSize(size, what);
  packer.pack_bin(n);
  packer.pack_bin_body(static_cast<const char*>(data), n);
}

// The reading side of msgpack, for the types the format uses. Each reader
// accepts every encoding of its type family that the msgpack spec allows
// (a fixarray or array 16/32; bin 8/16/32; any integer encoding), checks the
// bytes are there before reading them, and advances `at` only on success.
// msgpack-c's parser was used before: driven as a SAX tokenizer it cost
// about 45 ns per session, this about 10 (docs/design.md, "Record decoding").

// The unsigned big-endian number of N bytes at `p`.
template <int N>
std::uint64_t Load(const std::uint8_t* p) noexcept {
  if constexpr (N == 1) {
    return p[0];
  } else {
    using U = std::conditional_t<N == 2, std::uint16_t, std::conditional_t<N == 4, std::uint32_t, std::uint64_t>>;
    U v;
    std::memcpy(&v, p, N);
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (N == 2) v = __builtin_bswap16(v);
      if constexpr (N == 4) v = __builtin_bswap32(v);
      if constexpr (N == 8) v = __builtin_bswap64(v);
    }
    return v;
  }
}

// Reads the type byte and an N-byte big-endian number after it.
template <int N>
[[gnu::always_inline]] inline bool ReadNumber(const std::uint8_t*& at, const std::uint8_t* end,
                                              std::uint64_t& n) noexcept {
  if (end - at < 1 + N) return false;
  n = Load<N>(at + 1);
  at += 1 + N;
  return true;
}

template <int N>
[[gnu::always_inline]] inline bool ReadLength(const std::uint8_t*& at, const std::uint8_t* end,
                                              std::uint32_t& n) noexcept {
  std::uint64_t v = 0;
  if (!ReadNumber<N>(at, end, v)) return false;
  n = static_cast<std::uint32_t>(v);
  return true;
}

// A container header: the fix form (high nibble `fix`, count in the low
// nibble) or the 16- and 32-bit forms (type bytes `type16` and `type16 + 1`).
[[gnu::always_inline]] inline bool ReadHeader(const std::uint8_t*& at, const std::uint8_t* end,
                                              std::uint8_t fix, std::uint8_t type16, std::uint32_t& n) noexcept {
  if (at == end) return false;
  const std::uint8_t type = *at;
  if ((type & 0xf0) == fix) {
    n = type & 0x0f;
    ++at;
    return true;
  }
  if (type == type16) return ReadLength<2>(at, end, n);
  if (type == type16 + 1) return ReadLength<4>(at, end, n);
  return false;
}

[[gnu::always_inline]] inline bool ReadArray(const std::uint8_t*& at, const std::uint8_t* end,
                                             std::uint32_t& n) noexcept {
  return ReadHeader(at, end, 0x90, 0xdc, n);
}

inline bool ReadMap(const std::uint8_t*& at, const std::uint8_t* end, std::uint32_t& n) noexcept {
  return ReadHeader(at, end, 0x80, 0xde, n);
}

inline bool ReadBool(const std::uint8_t*& at, const std::uint8_t* end, bool& b) noexcept {
  if (at == end || (*at != 0xc2 && *at != 0xc3)) return false;
  b = *at == 0xc3;
  ++at;
  return true;
}

[[gnu::always_inline]] inline bool ReadBin(const std::uint8_t*& at, const std::uint8_t* end,
                                           const std::uint8_t*& data, std::uint32_t& n) noexcept {
  if (at == end) return false;
  const std::uint8_t* p = at;
  bool ok = false;
  switch (*p) {
    case 0xc4: ok = ReadLength<1>(p, end, n); break;
    case 0xc5: ok = ReadLength<2>(p, end, n); break;
    case 0xc6: ok = ReadLength<4>(p, end, n); break;
    default: return false;
  }
  if (!ok || static_cast<std::size_t>(end - p) < n) return false;
  data = p;
  at = p + n;
  return true;
}

[[gnu::always_inline]] inline bool ReadBinOfSize(const std::uint8_t*& at, const std::uint8_t* end,
                                                 std::uint32_t size, const std::uint8_t*& data) noexcept {
  const std::uint8_t* p = at;
  std::uint32_t n = 0;
  if (!ReadBin(p, end, data, n) || n != size) return false;
  at = p;
  return true;
}

// An N-byte unsigned integer after the type byte; one above int64's range
// (possible only for N = 8) is refused.
template <int N>
[[gnu::always_inline]] inline bool ReadUnsigned(const std::uint8_t*& at, const std::uint8_t* end,
                                                std::int64_t& v) noexcept {
  std::uint64_t raw = 0;
  if (!ReadNumber<N>(at, end, raw) ||
      raw > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return false;
  }
  v = static_cast<std::int64_t>(raw);
  return true;
}

// An N-byte two's-complement integer after the type byte, sign-extended.
template <int N>
[[gnu::always_inline]] inline bool ReadSigned(const std::uint8_t*& at, const std::uint8_t* end,
                                              std::int64_t& v) noexcept {
  std::uint64_t raw = 0;
  if (!ReadNumber<N>(at, end, raw)) return false;
  constexpr int kShift = 64 - 8 * N;
  v = static_cast<std::int64_t>(raw << kShift) >> kShift;
  return true;
}

[[gnu::always_inline]] inline bool ReadInt(const std::uint8_t*& at, const std::uint8_t* end,
                                           std::int64_t& v) noexcept {
  if (at == end) return false;
  const std::uint8_t type = *at;
  if (type <= 0x7f || type >= 0xe0) {  // positive and negative fixint: the byte as int8
    v = static_cast<std::int8_t>(type);
    ++at;
    return true;
  }
  switch (type) {
    case 0xcf: return ReadUnsigned<8>(at, end, v);  // what the encoder writes for ms times
    case 0xcc: return ReadUnsigned<1>(at, end, v);
    case 0xcd: return ReadUnsigned<2>(at, end, v);
    case 0xce: return ReadUnsigned<4>(at, end, v);
    case 0xd0: return ReadSigned<1>(at, end, v);
    case 0xd1: return ReadSigned<2>(at, end, v);
    case 0xd2: return ReadSigned<4>(at, end, v);
    case 0xd3: return ReadSigned<8>(at, end, v);
    default: return false;
  }
}

// A time jeff could have written: from 1970 up to the last instant a
// TimePoint holds. Anything else (INT64_MIN, year 300000) is corruption, and
// keeping times in this range is what makes `now - last_seen` and
// `expires - now` safe from signed overflow everywhere.
constexpr bool IsStoredTime(std::int64_t ms) noexcept { return ms >= 0 && ms <= kMaxUnixMillis; }

inline bool ReadTime(const std::uint8_t*& at, const std::uint8_t* end, std::int64_t& ms) noexcept {
  return ReadInt(at, end, ms) && IsStoredTime(ms);
}

// A bin whose length is in min ... max.
inline bool ReadBinSized(const std::uint8_t*& at, const std::uint8_t* end, std::size_t min,
                         std::size_t max, std::span<const std::uint8_t>& out) noexcept {
  const std::uint8_t* data = nullptr;
  std::uint32_t n = 0;
  if (!ReadBin(at, end, data, n) || n < min || n > max) return false;
  out = std::span<const std::uint8_t>(data, n);
  return true;
}

// An array of exactly `fields` elements.
inline bool ReadTuple(const std::uint8_t*& at, const std::uint8_t* end, std::uint32_t fields) noexcept {
  std::uint32_t n = 0;
  return ReadArray(at, end, n) && n == fields;
}

// The decoded entries of one ext map.
struct ExtFields {
  std::optional<bool> persistent;
  std::optional<std::int64_t> authenticated_at_ms;
  std::optional<DeviceKeyView> device_key;
  std::optional<ChallengeView> challenge;
  BoundCookiesView bound_cookies;
  std::optional<MoveRefView> origin;
};

constexpr bool IsKeyIdChar(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A key id as the move fields store it: bin of kKeyIdChars base64url
// characters (it becomes part of a store key, so nothing else is allowed).
bool ReadKeyId(const std::uint8_t*& at, const std::uint8_t* end, std::string_view& kid) noexcept {
  std::span<const std::uint8_t> bytes;
  if (!ReadBinSized(at, end, kKeyIdChars, kKeyIdChars, bytes) ||
      !std::all_of(bytes.begin(), bytes.end(), IsKeyIdChar)) {
    return false;
  }
  kid = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

bool ReadMoveId(const std::uint8_t*& at, const std::uint8_t* end,
                std::span<const std::uint8_t, sizeof(MoveId)>& id) noexcept {
  const std::uint8_t* data = nullptr;
  if (!ReadBinOfSize(at, end, sizeof(MoveId), data)) return false;
  id = std::span<const std::uint8_t, sizeof(MoveId)>(data, sizeof(MoveId));
  return true;
}

// Ext key 6 and record key 1: [kid, move id].
bool ReadMoveRef(const std::uint8_t*& at, const std::uint8_t* end, std::optional<MoveRefView>& out) noexcept {
  MoveRefView ref{.kid = {}, .move_id = std::span<const std::uint8_t, sizeof(MoveId)>(at, sizeof(MoveId))};
  if (!ReadTuple(at, end, kMoveRefFields) || !ReadKeyId(at, end, ref.kid) || !ReadMoveId(at, end, ref.move_id)) {
    return false;
  }
  out = ref;
  return true;
}

// Record key 2: [[origin kid, move id, until_ms], ...]. Calls `entry` for
// each (none when it fails).
template <typename Entry>
bool ReadAbsorbed(const std::uint8_t*& at, const std::uint8_t* end, Entry&& entry) noexcept {
  std::uint32_t n = 0;
  if (!ReadArray(at, end, n)) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string_view kid;
    std::span<const std::uint8_t, sizeof(MoveId)> id(at, sizeof(MoveId));
    std::int64_t until_ms = 0;
    if (!ReadTuple(at, end, kAbsorbedFields) || !ReadKeyId(at, end, kid) || !ReadMoveId(at, end, id) ||
        !ReadTime(at, end, until_ms)) {
      return false;
    }
    entry(kid, id, until_ms);
  }
  return true;
}

// Ext key 3: [alg, spki, thumbprint].
bool ReadDeviceKey(const std::uint8_t*& at, const std::uint8_t* end, ExtFields& s) noexcept {
  std::int64_t alg = 0;
  std::span<const std::uint8_t> spki, thumbprint;
  if (!ReadTuple(at, end, kDeviceKeyFields) || !ReadInt(at, end, alg) ||
      (alg != static_cast<std::int64_t>(DeviceKeyAlg::kEs256) &&
       alg != static_cast<std::int64_t>(DeviceKeyAlg::kRs256)) ||
      !ReadBinSized(at, end, 1, kMaxSpkiBytes, spki) ||
      !ReadBinSized(at, end, kThumbprintBytes, kThumbprintBytes, thumbprint)) {
    return false;
  }
  s.device_key = DeviceKeyView{
      .alg = static_cast<DeviceKeyAlg>(alg),
      .spki = spki,
      .thumbprint = std::span<const std::uint8_t, kThumbprintBytes>(thumbprint.data(), kThumbprintBytes),
  };
  return true;
}

// Ext key 4: [nonce, expires_ms].
bool ReadChallenge(const std::uint8_t*& at, const std::uint8_t* end, ExtFields& s) noexcept {
  ChallengeView challenge;
  if (!ReadTuple(at, end, kChallengeFields) ||
      !ReadBinSized(at, end, kMinNonceBytes, kMaxNonceBytes, challenge.nonce) ||
      !ReadTime(at, end, challenge.expires_ms)) {
    return false;
  }
  s.challenge = challenge;
  return true;
}

// Ext key 5: [[token_hash, expires_ms], ...], at most kMaxBoundCookies.
bool ReadBoundCookies(const std::uint8_t*& at, const std::uint8_t* end, ExtFields& s) noexcept {
  std::uint32_t n = 0;
  if (!ReadArray(at, end, n) || n > kMaxBoundCookies) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    BoundCookieView& cookie = s.bound_cookies.slots[i];
    if (!ReadTuple(at, end, kBoundCookieFields) ||
        !ReadBinSized(at, end, kTokenHashBytes, kTokenHashBytes, cookie.token_hash) ||
        !ReadTime(at, end, cookie.expires_ms)) {
      return false;
    }
  }
  s.bound_cookies.count = n;
  return true;
}

// The ext map of a v2 session. Keys must be known and strictly ascending, so
// the loop ends after at most five entries whatever count the map declares.
bool ReadExt(const std::uint8_t*& at, const std::uint8_t* end, ExtFields& s) noexcept {
  std::uint32_t entries = 0;
  if (!ReadMap(at, end, entries)) return false;
  std::int64_t previous = 0;
  for (std::uint32_t i = 0; i < entries; ++i) {
    std::int64_t key = 0;
    if (!ReadInt(at, end, key) || key <= previous) return false;
    previous = key;
    bool ok = false;
    switch (key) {
      case kExtPersistent: {
        bool persistent = false;
        ok = ReadBool(at, end, persistent);
        if (ok) s.persistent = persistent;
        break;
      }
      case kExtAuthenticatedAt: {
        std::int64_t ms = 0;
        ok = ReadTime(at, end, ms);
        if (ok) s.authenticated_at_ms = ms;
        break;
      }
      case kExtDeviceKey: ok = ReadDeviceKey(at, end, s); break;
      case kExtChallenge: ok = ReadChallenge(at, end, s); break;
      case kExtBoundCookies: ok = ReadBoundCookies(at, end, s); break;
      case kExtOrigin: ok = ReadMoveRef(at, end, s.origin); break;
      default: return false;  // unknown: fail closed
    }
    if (!ok) return false;
  }
  return true;
}

// The v1 fields of a session (the first six of a v2 one).
struct SessionFields {
  const std::uint8_t* id = nullptr;
  const std::uint8_t* hash = nullptr;
  const std::uint8_t* meta = nullptr;
  std::uint32_t meta_size = 0;
  std::int64_t created_ms = 0, expires_ms = 0, last_seen_ms = 0;
};

// The layout EncodeRecord writes for a session whose times need 64 bits
// (every time since January 1970 + 49 days) and whose meta is under 256
// bytes: fixarray, bin 8 id, bin 8 token hash, three uint 64 times, bin 8
// meta. Offsets of its type bytes, and the bytes before the meta's.
constexpr std::size_t kCanonicalHash = 1 + 2 + kSessionIdBytes;
constexpr std::size_t kCanonicalTimes = kCanonicalHash + 2 + kTokenHashBytes;
constexpr std::size_t kCanonicalMeta = kCanonicalTimes + 3 * 9;
constexpr std::size_t kCanonicalHead = kCanonicalMeta + 2;

// Reads the session at `at` when it has the canonical layout, checking a
// few type bytes instead of decoding each field: what the general reader
// below would read from the same bytes, in a third of its instructions. A
// session in any other valid encoding is left to the general reader
// (false, `at` unchanged).
template <bool kV2>
[[gnu::always_inline]] inline bool ReadCanonicalFields(const std::uint8_t*& at, const std::uint8_t* end,
                                                       SessionFields& f) noexcept {
  const std::uint8_t* p = at;
  if (static_cast<std::size_t>(end - p) < kCanonicalHead ||
      p[0] != 0x90 + (kV2 ? kSessionFieldsV2 : kSessionFieldsV1) || p[1] != 0xc4 || p[2] != kSessionIdBytes ||
      p[kCanonicalHash] != 0xc4 || p[kCanonicalHash + 1] != kTokenHashBytes || p[kCanonicalTimes] != 0xcf ||
      p[kCanonicalTimes + 9] != 0xcf || p[kCanonicalTimes + 18] != 0xcf || p[kCanonicalMeta] != 0xc4) {
    return false;
  }
  const std::uint32_t meta_size = p[kCanonicalMeta + 1];
  const std::uint64_t created = Load<8>(p + kCanonicalTimes + 1);
  const std::uint64_t expires = Load<8>(p + kCanonicalTimes + 10);
  const std::uint64_t last_seen = Load<8>(p + kCanonicalTimes + 19);
  // As unsigned numbers: at most kMaxUnixMillis is also at least 0 and
  // within int64 (IsStoredTime of the value ReadInt reads).
  constexpr auto kMax = static_cast<std::uint64_t>(kMaxUnixMillis);
  if (static_cast<std::size_t>(end - p) - kCanonicalHead < meta_size || created > kMax || expires > kMax ||
      last_seen > kMax) {
    return false;
  }
  f.id = p + 3;
  f.hash = p + kCanonicalHash + 2;
  f.created_ms = static_cast<std::int64_t>(created);
  f.expires_ms = static_cast<std::int64_t>(expires);
  f.last_seen_ms = static_cast<std::int64_t>(last_seen);
  f.meta = p + kCanonicalHead;
  f.meta_size = meta_size;
  at = p + kCanonicalHead + meta_size;
  return true;
}

// The v1 fields in any encoding msgpack allows for their types.
template <bool kV2>
inline bool ReadFields(const std::uint8_t*& at, const std::uint8_t* end, SessionFields& f) noexcept {
  std::uint32_t fields = 0;
  return ReadArray(at, end, fields) && fields == (kV2 ? kSessionFieldsV2 : kSessionFieldsV1) &&
         ReadBinOfSize(at, end, kSessionIdBytes, f.id) && ReadBinOfSize(at, end, kTokenHashBytes, f.hash) &&
         ReadInt(at, end, f.created_ms) && ReadInt(at, end, f.expires_ms) && ReadInt(at, end, f.last_seen_ms) &&
         ReadBin(at, end, f.meta, f.meta_size) && IsStoredTime(f.created_ms) && IsStoredTime(f.expires_ms) &&
         IsStoredTime(f.last_seen_ms);
}

// One session at `at`: its six v1 fields and, in a v2 record (kV2), its
// ext map, validated here and kept as a span that the SessionView
// accessors decode again when asked (a view stays small, and a reader that
// needs no entry pays nothing for them). Advances `at` on success.
template <bool kV2>
[[gnu::always_inline]] inline std::optional<SessionView> ReadSession(const std::uint8_t*& at,
                                                                     const std::uint8_t* end) noexcept {
  SessionFields f;
  if (!ReadCanonicalFields<kV2>(at, end, f) && !ReadFields<kV2>(at, end, f)) return std::nullopt;
  const std::uint8_t* ext = at;
  if constexpr (kV2) {
    ExtFields scratch;
    if (!ReadExt(at, end, scratch)) return std::nullopt;
  }
  return SessionView{
      .id = std::span<const std::uint8_t, kSessionIdBytes>(f.id, kSessionIdBytes),
      .token_hash = std::span<const std::uint8_t, kTokenHashBytes>(f.hash, kTokenHashBytes),
      .created_ms = f.created_ms,
      .expires_ms = f.expires_ms,
      .last_seen_ms = f.last_seen_ms,
      .meta = std::string_view(reinterpret_cast<const char*>(f.meta), f.meta_size),
      .ext = std::span<const std::uint8_t>(ext, at),
  };
}

// The entries of a validated ext map (none for an empty span).
ExtFields ExtOf(std::span<const std::uint8_t> ext) noexcept {
  ExtFields fields;
  const std::uint8_t* at = ext.data();
  if (!ext.empty()) (void)ReadExt(at, at + ext.size(), fields);
  return fields;
}

std::vector<std::uint8_t> Copy(std::span<const std::uint8_t> bytes) {
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

StoredMoveRef OwnedMoveRef(const MoveRefView& view) {
  StoredMoveRef ref;
  ref.kid.assign(view.kid);
  std::copy(view.move_id.begin(), view.move_id.end(), ref.move_id.begin());
  return ref;
}

// The writing side.

void RequireExt(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("jeff::EncodeRecord: ") + what);
}

// Throws unless `s`'s ext entries are what the reader accepts.
void CheckExt(const StoredSession& s) {
  RequireExt(!s.authenticated_at_ms || IsStoredTime(*s.authenticated_at_ms), "authenticated_at_ms out of range");
  if (s.device_key) {
    RequireExt(s.device_key->alg == DeviceKeyAlg::kEs256 || s.device_key->alg == DeviceKeyAlg::kRs256,
               "unknown device key algorithm");
    RequireExt(!s.device_key->spki.empty() && s.device_key->spki.size() <= kMaxSpkiBytes,
               "device key SPKI of a wrong length");
  }
  if (s.challenge) {
    RequireExt(s.challenge->nonce.size() >= kMinNonceBytes && s.challenge->nonce.size() <= kMaxNonceBytes,
               "challenge nonce of a wrong length");
    RequireExt(IsStoredTime(s.challenge->expires_ms), "challenge expires_ms out of range");
  }
  RequireExt(s.bound_cookies.size() <= kMaxBoundCookies, "more than two bound cookies");
  for (const StoredBoundCookie& cookie : s.bound_cookies) {
    RequireExt(IsStoredTime(cookie.expires_ms), "bound cookie expires_ms out of range");
  }
}

bool IsKeyId(std::string_view kid) noexcept {
  return kid.size() == kKeyIdChars &&
         std::all_of(kid.begin(), kid.end(), [](char c) { return IsKeyIdChar(static_cast<std::uint8_t>(c)); });
}

void PackMoveRef(msgpack::packer<StringStream>& packer, const StoredMoveRef& ref) {
  RequireExt(IsKeyId(ref.kid), "a move's key id is not 22 base64url characters");
  packer.pack_array(kMoveRefFields);
  PackBin(packer, ref.kid.data(), ref.kid.size(), "key id");
  PackBin(packer, ref.move_id.data(), ref.move_id.size(), "move id");
}

// The record-level map of format v4.
void PackMoves(msgpack::packer<StringStream>& packer, const Record& record) {
  packer.pack_map((record.moved_to ? 1 : 0) + (record.absorbed.empty() ? 0 : 1));
  if (record.moved_to) {
    packer.pack_int64(kRecordMovedTo);
    PackMoveRef(packer, *record.moved_to);
  }
  if (!record.absorbed.empty()) {
    packer.pack_int64(kRecordAbsorbed);
    packer.pack_array(CheckedSize(record.absorbed.size(), "absorbed count"));
    for (const StoredAbsorbed& a : record.absorbed) {
      RequireExt(IsKeyId(a.origin_kid), "an absorbed move's key id is not 22 base64url characters");
      RequireExt(IsStoredTime(a.until_ms), "absorbed until_ms out of range");
      packer.pack_array(kAbsorbedFields);
      PackBin(packer, a.origin_kid.data(), a.origin_kid.size(), "key id");
      PackBin(packer, a.move_id.data(), a.move_id.size(), "move id");
      packer.pack_int64(a.until_ms);
    }
  }
}

void PackExt(msgpack::packer<StringStream>& packer, const StoredSession& s) {
  CheckExt(s);
  const std::uint32_t entries = (s.persistent ? 1 : 0) + (s.authenticated_at_ms ? 1 : 0) +
                                (s.device_key ? 1 : 0) + (s.challenge ? 1 : 0) +
                                (s.bound_cookies.empty() ? 0 : 1) + (s.origin ? 1 : 0);
  packer.pack_map(entries);
  if (s.persistent) {
    packer.pack_int64(kExtPersistent);
    if (*s.persistent) {
      packer.pack_true();
    } else {
      packer.pack_false();
    }
  }
  if (s.authenticated_at_ms) {
    packer.pack_int64(kExtAuthenticatedAt);
    packer.pack_int64(*s.authenticated_at_ms);
  }
  if (s.device_key) {
    packer.pack_int64(kExtDeviceKey);
    packer.pack_array(kDeviceKeyFields);
    packer.pack_uint8(static_cast<std::uint8_t>(s.device_key->alg));
    PackBin(packer, s.device_key->spki.data(), s.device_key->spki.size(), "device key");
    PackBin(packer, s.device_key->thumbprint.data(), s.device_key->thumbprint.size(), "thumbprint");
  }
  if (s.challenge) {
    packer.pack_int64(kExtChallenge);
    packer.pack_array(kChallengeFields);
    PackBin(packer, s.challenge->nonce.data(), s.challenge->nonce.size(), "nonce");
    packer.pack_int64(s.challenge->expires_ms);
  }
  if (!s.bound_cookies.empty()) {
    packer.pack_int64(kExtBoundCookies);
    packer.pack_array(static_cast<std::uint32_t>(s.bound_cookies.size()));
    for (const StoredBoundCookie& cookie : s.bound_cookies) {
      packer.pack_array(kBoundCookieFields);
      PackBin(packer, cookie.token_hash.data(), cookie.token_hash.size(), "bound cookie");
      packer.pack_int64(cookie.expires_ms);
    }
  }
  if (s.origin) {
    packer.pack_int64(kExtOrigin);
    PackMoveRef(packer, *s.origin);
  }
}

}  // namespace

std::string EncodeRecord(const Record& record) {
  std::string out;
  std::size_t estimate = 16 + record.key.size();
  bool v2 = false;
  for (const StoredSession& s : record.sessions) {
    estimate += 96 + s.meta.size();
    v2 = v2 || s.HasExt();
  }
  const bool v4 = record.HasMoves();
  v2 = v2 || v4;
  out.reserve(estimate + (v4 ? 64 * (1 + record.absorbed.size()) : 0));

  StringStream stream{out};
  msgpack::packer<StringStream> packer(stream);
  packer.pack_array(v4 ? kRecordFieldsV4 : kRecordFields);
  packer.pack_uint64(v4 ? kRecordFormatV4 : v2 ? kRecordFormatV2 : kRecordFormatV1);
  PackBin(packer, record.key.data(), record.key.size(), "key");
  packer.pack_array(CheckedSize(record.sessions.size(), "session count"));
  for (const StoredSession& s : record.sessions) {
    packer.pack_array(v2 ? kSessionFieldsV2 : kSessionFieldsV1);
    PackBin(packer, s.id.data(), s.id.size(), "id");
    PackBin(packer, s.token_hash.data(), s.token_hash.size(), "token hash");
    packer.pack_int64(s.created_ms);
    packer.pack_int64(s.expires_ms);
    packer.pack_int64(s.last_seen_ms);
    PackBin(packer, s.meta.data(), s.meta.size(), "meta");
    if (v2) PackExt(packer, s);
  }
  if (v4) PackMoves(packer, record);
  return out;
}

namespace {

// A record's header: its field count, version, key, and the sessions
// array's length.
struct RecordHeader {
  std::uint32_t fields = 0;
  std::int64_t version = 0;
  const std::uint8_t* key = nullptr;
  std::uint32_t key_size = 0;
  std::uint32_t sessions = 0;
};

// The header as EncodeRecord writes a v1 or v2 record's for a key under
// 256 bytes and at most 15 sessions (fixarray 3, fixint version, bin 8 key,
// fixarray), read by a few byte checks; any other encoding, and every v4
// record (fixarray 4: its record-level map follows the sessions), is left
// to ReadHeaderFields (false, `at` unchanged).
bool ReadCanonicalHeader(const std::uint8_t*& at, const std::uint8_t* end, RecordHeader& h) noexcept {
  const std::uint8_t* p = at;
  if (end - p < 5 || p[0] != 0x90 + kRecordFields || p[1] > 0x7f || p[2] != 0xc4) return false;
  const std::uint32_t key_size = p[3];
  if (static_cast<std::size_t>(end - p) - 4 <= key_size || (p[4 + key_size] & 0xf0) != 0x90) return false;
  h.fields = kRecordFields;
  h.version = p[1];
  h.key = p + 4;
  h.key_size = key_size;
  h.sessions = p[4 + key_size] & 0x0f;
  at = p + 5 + key_size;
  return true;
}

// The header in any encoding msgpack allows for its types.
bool ReadHeaderFields(const std::uint8_t*& at, const std::uint8_t* end, RecordHeader& h) noexcept {
  return ReadArray(at, end, h.fields) && (h.fields == kRecordFields || h.fields == kRecordFieldsV4) &&
         ReadInt(at, end, h.version) && ReadBin(at, end, h.key, h.key_size) && ReadArray(at, end, h.sessions);
}

}  // namespace

RecordReader::RecordReader(std::string_view bytes) noexcept
    : at_(reinterpret_cast<const std::uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {
  RecordHeader h;
  if ((!ReadCanonicalHeader(at_, end_, h) && !ReadHeaderFields(at_, end_, h)) ||
      (h.version != static_cast<std::int64_t>(kRecordFormatV1) &&
       h.version != static_cast<std::int64_t>(kRecordFormatV2) &&
       h.version != static_cast<std::int64_t>(kRecordFormatV4)) ||
      (h.fields == kRecordFieldsV4) != (h.version == static_cast<std::int64_t>(kRecordFormatV4))) {
    failed_ = true;
    return;
  }
  v4_ = h.version == static_cast<std::int64_t>(kRecordFormatV4);
  v2_ = v4_ || h.version == static_cast<std::int64_t>(kRecordFormatV2);
  // A declared count the bytes cannot hold is rejected before any session.
  if (std::uint64_t{h.sessions} * (kMinEncodedSession + (v2_ ? 1 : 0)) > bytes.size()) {
    failed_ = true;
    return;
  }
  key_ = std::string_view(reinterpret_cast<const char*>(h.key), h.key_size);
  declared_ = left_ = h.sessions;
  if (left_ == 0 && v4_) ReadTail();
}

void RecordReader::ReadTail() noexcept {
  std::uint32_t entries = 0;
  if (!ReadMap(at_, end_, entries)) {
    failed_ = true;
    return;
  }
  std::int64_t previous = 0;
  for (std::uint32_t i = 0; i < entries; ++i) {
    std::int64_t key = 0;
    if (!ReadInt(at_, end_, key) || key <= previous) {
      failed_ = true;
      return;
    }
    previous = key;
    const std::uint8_t* value = at_;
    bool ok = false;
    if (key == kRecordMovedTo) {
      std::optional<MoveRefView> ref;
      ok = ReadMoveRef(at_, end_, ref);
      moved_to_ = std::span<const std::uint8_t>(value, at_);
    } else if (key == kRecordAbsorbed) {
      ok = ReadAbsorbed(at_, end_, [](std::string_view, std::span<const std::uint8_t, sizeof(MoveId)>, std::int64_t) {});
      absorbed_ = std::span<const std::uint8_t>(value, at_);
    }
    if (!ok) {
      failed_ = true;
      return;
    }
  }
}

bool RecordReader::HasAbsorbed(std::span<const std::uint8_t, sizeof(MoveId)> id) const noexcept {
  bool found = false;
  const std::uint8_t* at = absorbed_.data();
  if (!absorbed_.empty()) {
    (void)ReadAbsorbed(at, at + absorbed_.size(),
                       [&](std::string_view, std::span<const std::uint8_t, sizeof(MoveId)> listed, std::int64_t) {
                         found = found || std::equal(listed.begin(), listed.end(), id.begin());
                       });
  }
  return found;
}

std::optional<MoveRefView> RecordReader::moved_to() const noexcept {
  std::optional<MoveRefView> ref;
  const std::uint8_t* at = moved_to_.data();
  if (!moved_to_.empty()) (void)ReadMoveRef(at, at + moved_to_.size(), ref);
  return ref;
}

std::optional<SessionView> RecordReader::Next() noexcept {
  if (failed_ || left_ == 0) return std::nullopt;
  if (v2_) return NextV2();
  std::optional<SessionView> view = ReadSession<false>(at_, end_);
  Count(view.has_value());
  return view;
}

// Out of line, so that Next's v1 path stays a leaf function whose cursor
// lives in a register (with the ext map read inline, a 10-session scan
// took 600 ns instead of 390).
[[gnu::noinline]] std::optional<SessionView> RecordReader::NextV2() noexcept {
  std::optional<SessionView> view = ReadSession<true>(at_, end_);
  Count(view.has_value());
  if (view && left_ == 0 && v4_) ReadTail();
  return view;
}

std::optional<bool> SessionView::persistent() const noexcept { return ExtOf(ext).persistent; }
std::optional<std::int64_t> SessionView::authenticated_at_ms() const noexcept {
  return ExtOf(ext).authenticated_at_ms;
}
std::optional<DeviceKeyView> SessionView::device_key() const noexcept { return ExtOf(ext).device_key; }
std::optional<ChallengeView> SessionView::challenge() const noexcept { return ExtOf(ext).challenge; }
BoundCookiesView SessionView::bound_cookies() const noexcept { return ExtOf(ext).bound_cookies; }
std::optional<MoveRefView> SessionView::origin() const noexcept { return ExtOf(ext).origin; }

namespace {

// The sessions of a v1 or v2 (kV2) record from `at` on, each compared with
// `hash`; false at the first one that is not valid.
template <bool kV2>
bool FindIn(const std::uint8_t*& at, const std::uint8_t* end, std::uint32_t sessions, const std::uint8_t* hash,
            std::optional<SessionView>& match) noexcept {
  for (std::uint32_t i = 0; i < sessions; ++i) {
    const std::optional<SessionView> s = ReadSession<kV2>(at, end);
    if (!s) return false;
    if (crypto_verify_32(s->token_hash.data(), hash) == 0) match = *s;
  }
  return true;
}

}  // namespace

Result<std::string_view> RecordReader::FindTokenHash(std::span<const std::uint8_t, kTokenHashBytes> token_hash,
                                                     std::optional<SessionView>& match) noexcept {
  if (!failed_ && left_ != 0) {
    const bool read = v2_ ? FindIn<true>(at_, end_, left_, token_hash.data(), match)
                          : FindIn<false>(at_, end_, left_, token_hash.data(), match);
    if (read) {
      left_ = 0;
      if (v4_) ReadTail();  // as NextV2 after the last session
    } else {
      failed_ = true;
    }
  }
  return Finish();
}

Result<std::string_view> RecordReader::Finish() const noexcept {
  if (failed_ || left_ != 0 || at_ != end_) return Errc::kStoreCorrupt;
  return key_;
}

Result<Record> DecodeRecord(std::string_view bytes) {
  Record record;
  RecordReader reader(bytes);
  record.sessions.reserve(reader.declared_sessions());
  while (const std::optional<SessionView> s = reader.Next()) {
    StoredSession& out = record.sessions.emplace_back();
    std::memcpy(out.id.data(), s->id.data(), out.id.size());
    std::memcpy(out.token_hash.data(), s->token_hash.data(), out.token_hash.size());
    out.created_ms = s->created_ms;
    out.expires_ms = s->expires_ms;
    out.last_seen_ms = s->last_seen_ms;
    out.meta.assign(s->meta);
    if (s->ext.empty()) continue;
    const ExtFields ext = ExtOf(s->ext);
    out.persistent = ext.persistent;
    out.authenticated_at_ms = ext.authenticated_at_ms;
    if (ext.device_key) {
      StoredDeviceKey& key = out.device_key.emplace();
      key.alg = ext.device_key->alg;
      key.spki = Copy(ext.device_key->spki);
      std::copy(ext.device_key->thumbprint.begin(), ext.device_key->thumbprint.end(), key.thumbprint.begin());
    }
    if (ext.challenge) out.challenge = StoredChallenge{Copy(ext.challenge->nonce), ext.challenge->expires_ms};
    for (const BoundCookieView& view : ext.bound_cookies) {
      StoredBoundCookie& cookie = out.bound_cookies.emplace_back();
      std::copy(view.token_hash.begin(), view.token_hash.end(), cookie.token_hash.begin());
      cookie.expires_ms = view.expires_ms;
    }
    if (ext.origin) out.origin = OwnedMoveRef(*ext.origin);
  }
  const Result<std::string_view> key = reader.Finish();
  if (!key) return key.error();
  record.key.assign(*key);
  if (const std::optional<MoveRefView> moved_to = reader.moved_to()) record.moved_to = OwnedMoveRef(*moved_to);
  const std::span<const std::uint8_t> absorbed = reader.absorbed();
  const std::uint8_t* at = absorbed.data();
  if (!absorbed.empty()) {
    (void)ReadAbsorbed(at, at + absorbed.size(),
                       [&](std::string_view kid, std::span<const std::uint8_t, sizeof(MoveId)> id, std::int64_t until_ms) {
                         StoredAbsorbed& a = record.absorbed.emplace_back();
                         a.origin_kid.assign(kid);
                         std::copy(id.begin(), id.end(), a.move_id.begin());
                         a.until_ms = until_ms;
                       });
  }
  return record;
}

}  // namespace jeff
