#include <jeff/detail/record.hpp>

#include <jeff/clock.hpp>

#include <msgpack/pack.hpp>

#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace jeff {
namespace {

constexpr std::uint32_t kRecordFields = 3;
constexpr std::uint32_t kSessionFields = 6;
// The smallest encoded session: fixarray, bin8 16, bin8 32, three fixints, empty bin8.
constexpr std::size_t kMinEncodedSession =
    1 + (2 + kSessionIdBytes) + (2 + kTokenHashBytes) + 3 + 2;

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

// The reading side of msgpack, for the types format v1 uses. Each reader
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

[[gnu::always_inline]] inline bool ReadArray(const std::uint8_t*& at, const std::uint8_t* end,
                                             std::uint32_t& n) noexcept {
  if (at == end) return false;
  const std::uint8_t type = *at;
  if ((type & 0xf0) == 0x90) {
    n = type & 0x0f;
    ++at;
    return true;
  }
  if (type == 0xdc) return ReadLength<2>(at, end, n);
  if (type == 0xdd) return ReadLength<4>(at, end, n);
  return false;
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

}  // namespace

std::string EncodeRecord(const Record& record) {
  std::string out;
  std::size_t estimate = 16 + record.key.size();
  for (const StoredSession& s : record.sessions) estimate += 96 + s.meta.size();
  out.reserve(estimate);

  StringStream stream{out};
  msgpack::packer<StringStream> packer(stream);
  packer.pack_array(kRecordFields);
  packer.pack_uint64(kRecordFormatVersion);
  PackBin(packer, record.key.data(), record.key.size(), "key");
  packer.pack_array(CheckedSize(record.sessions.size(), "session count"));
  for (const StoredSession& s : record.sessions) {
    packer.pack_array(kSessionFields);
    PackBin(packer, s.id.data(), s.id.size(), "id");
    PackBin(packer, s.token_hash.data(), s.token_hash.size(), "token hash");
    packer.pack_int64(s.created_ms);
    packer.pack_int64(s.expires_ms);
    packer.pack_int64(s.last_seen_ms);
    PackBin(packer, s.meta.data(), s.meta.size(), "meta");
  }
  return out;
}

RecordReader::RecordReader(std::string_view bytes) noexcept
    : at_(reinterpret_cast<const std::uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {
  std::uint32_t fields = 0;
  std::int64_t version = 0;
  const std::uint8_t* key = nullptr;
  std::uint32_t key_size = 0;
  std::uint32_t sessions = 0;
  // A declared count the bytes cannot hold is rejected before any session.
  if (!ReadArray(at_, end_, fields) || fields != kRecordFields || !ReadInt(at_, end_, version) ||
      version != static_cast<std::int64_t>(kRecordFormatVersion) ||
      !ReadBin(at_, end_, key, key_size) || !ReadArray(at_, end_, sessions) ||
      sessions > bytes.size() / kMinEncodedSession) {
    failed_ = true;
    return;
  }
  key_ = std::string_view(reinterpret_cast<const char*>(key), key_size);
  declared_ = left_ = sessions;
}

std::optional<SessionView> RecordReader::Next() noexcept {
  if (failed_ || left_ == 0) return std::nullopt;
  std::uint32_t fields = 0;
  const std::uint8_t* id = nullptr;
  const std::uint8_t* hash = nullptr;
  const std::uint8_t* meta = nullptr;
  std::uint32_t meta_size = 0;
  std::int64_t created_ms = 0, expires_ms = 0, last_seen_ms = 0;
  if (!ReadArray(at_, end_, fields) || fields != kSessionFields ||
      !ReadBinOfSize(at_, end_, kSessionIdBytes, id) ||
      !ReadBinOfSize(at_, end_, kTokenHashBytes, hash) || !ReadInt(at_, end_, created_ms) ||
      !ReadInt(at_, end_, expires_ms) || !ReadInt(at_, end_, last_seen_ms) ||
      !ReadBin(at_, end_, meta, meta_size) || !IsStoredTime(created_ms) ||
      !IsStoredTime(expires_ms) || !IsStoredTime(last_seen_ms)) {
    failed_ = true;
    return std::nullopt;
  }
  --left_;
  return SessionView{
      .id = std::span<const std::uint8_t, kSessionIdBytes>(id, kSessionIdBytes),
      .token_hash = std::span<const std::uint8_t, kTokenHashBytes>(hash, kTokenHashBytes),
      .created_ms = created_ms,
      .expires_ms = expires_ms,
      .last_seen_ms = last_seen_ms,
      .meta = std::string_view(reinterpret_cast<const char*>(meta), meta_size),
  };
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
  }
  const Result<std::string_view> key = reader.Finish();
  if (!key) return key.error();
  record.key.assign(*key);
  return record;
}

}  // namespace jeff
