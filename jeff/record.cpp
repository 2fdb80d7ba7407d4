#include <jeff/record.hpp>

#include <msgpack/pack.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>

#include <cstring>
#include <limits>
#include <stdexcept>

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

// A SAX visitor for msgpack-c's parser that accepts exactly format v1 and
// rejects everything else at the first unexpected event, so a hostile record
// never makes the parser nest deeper than three arrays or read a value it
// does not need.
class RecordVisitor {
 public:
  enum class State {
    kRecord,
    kVersion,
    kKey,
    kSessions,
    kSession,
    kId,
    kHash,
    kCreated,
    kExpires,
    kLastSeen,
    kMeta,
    kSessionEnd,
    kSessionsEnd,
    kRecordEnd,
    kDone
  };

  void Reset(std::string_view bytes,
             const std::function<void(const SessionView&)>* visit) noexcept {
    bytes_size_ = bytes.size();
    visit_ = visit;
    state_ = State::kRecord;
  }
  State state() const noexcept { return state_; }
  std::string_view key() const noexcept { return key_; }

  // msgpack-c's visitor interface; returning false stops the parse.
  void init() noexcept { state_ = State::kRecord; }
  bool visit_nil() noexcept { return false; }
  bool visit_boolean(bool) noexcept { return false; }
  bool visit_float32(float) noexcept { return false; }
  bool visit_float64(double) noexcept { return false; }
  bool visit_str(const char*, std::uint32_t) noexcept { return false; }
  bool visit_ext(const char*, std::uint32_t) noexcept { return false; }
  bool start_map(std::uint32_t) noexcept { return false; }
  bool start_map_key() noexcept { return false; }
  bool end_map_key() noexcept { return false; }
  bool start_map_value() noexcept { return false; }
  bool end_map_value() noexcept { return false; }
  bool end_map() noexcept { return false; }
  bool start_array_item() noexcept { return true; }
  bool end_array_item() noexcept { return true; }
  void parse_error(std::size_t, std::size_t) noexcept {}
  void insufficient_bytes(std::size_t, std::size_t) noexcept {}

  bool visit_positive_integer(std::uint64_t v) noexcept {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    return Integer(static_cast<std::int64_t>(v));
  }
  // msgpack-c reports every signed encoding here, whatever the sign.
  bool visit_negative_integer(std::int64_t v) noexcept { return Integer(v); }

  bool visit_bin(const char* data, std::uint32_t size) noexcept {
    switch (state_) {
      case State::kKey:
        key_ = std::string_view(data, size);
        state_ = State::kSessions;
        return true;
      case State::kId:
        if (size != kSessionIdBytes) return false;
        id_ = reinterpret_cast<const std::uint8_t*>(data);
        state_ = State::kHash;
        return true;
      case State::kHash:
        if (size != kTokenHashBytes) return false;
        token_hash_ = reinterpret_cast<const std::uint8_t*>(data);
        state_ = State::kCreated;
        return true;
      case State::kMeta:
        meta_ = std::string_view(data, size);
        state_ = State::kSessionEnd;
        return true;
      default:
        return false;
    }
  }

  bool start_array(std::uint32_t size) noexcept {
    switch (state_) {
      case State::kRecord:
        if (size != kRecordFields) return false;
        state_ = State::kVersion;
        return true;
      case State::kSessions:
        // A declared count the bytes cannot hold is rejected before any visit.
        if (size > bytes_size_ / kMinEncodedSession) return false;
        sessions_left_ = size;
        state_ = size == 0 ? State::kSessionsEnd : State::kSession;
        return true;
      case State::kSession:
        if (size != kSessionFields) return false;
        state_ = State::kId;
        return true;
      default:
        return false;
    }
  }

  bool end_array() {
    switch (state_) {
      case State::kSessionEnd:
        (*visit_)(SessionView{
            .id = std::span<const std::uint8_t, kSessionIdBytes>(id_, kSessionIdBytes),
            .token_hash =
                std::span<const std::uint8_t, kTokenHashBytes>(token_hash_, kTokenHashBytes),
            .created_ms = created_ms_,
            .expires_ms = expires_ms_,
            .last_seen_ms = last_seen_ms_,
            .meta = meta_,
        });
        state_ = --sessions_left_ == 0 ? State::kSessionsEnd : State::kSession;
        return true;
      case State::kSessionsEnd:
        state_ = State::kRecordEnd;
        return true;
      case State::kRecordEnd:
        state_ = State::kDone;
        return true;
      default:
        return false;
    }
  }

 private:
  bool Integer(std::int64_t v) noexcept {
    switch (state_) {
      case State::kVersion:
        if (v != static_cast<std::int64_t>(kRecordFormatVersion)) return false;
        state_ = State::kKey;
        return true;
      case State::kCreated:
        created_ms_ = v;
        state_ = State::kExpires;
        return true;
      case State::kExpires:
        expires_ms_ = v;
        state_ = State::kLastSeen;
        return true;
      case State::kLastSeen:
        last_seen_ms_ = v;
        state_ = State::kMeta;
        return true;
      default:
        return false;
    }
  }

  std::size_t bytes_size_ = 0;
  const std::function<void(const SessionView&)>* visit_ = nullptr;
  State state_ = State::kRecord;
  std::string_view key_;
  std::uint32_t sessions_left_ = 0;
  const std::uint8_t* id_ = nullptr;
  const std::uint8_t* token_hash_ = nullptr;
  std::int64_t created_ms_ = 0;
  std::int64_t expires_ms_ = 0;
  std::int64_t last_seen_ms_ = 0;
  std::string_view meta_;
};

// msgpack::parse() builds a parse context per call, and the context reserves
// its container stack on the heap. Keeping one context per thread makes
// VisitRecord allocation-free after a thread's first call. The context is the
// one msgpack::parse() itself uses (detail namespace of msgpack-c 4.x).
class RecordParser : public msgpack::v3::detail::context<RecordParser> {
 public:
  RecordVisitor& visitor() noexcept { return visitor_; }

 private:
  RecordVisitor visitor_;
};

Result<std::string_view> Parse(RecordParser& parser, std::string_view bytes,
                               const std::function<void(const SessionView&)>& visit) {
  parser.init();
  parser.visitor().Reset(bytes, &visit);
  std::size_t offset = 0;
  const msgpack::parse_return ret = parser.execute(bytes.data(), bytes.size(), offset);
  if (ret != msgpack::PARSE_SUCCESS || offset != bytes.size() ||
      parser.visitor().state() != RecordVisitor::State::kDone) {
    return Errc::kStoreCorrupt;
  }
  return parser.visitor().key();
}

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

Result<std::string_view> VisitRecord(std::string_view bytes,
                                     const std::function<void(const SessionView&)>& visit) {
  thread_local RecordParser parser;
  thread_local bool parser_busy = false;
  if (parser_busy) {
    // `visit` decodes another record on this thread: use a fresh context.
    RecordParser nested;
    return Parse(nested, bytes, visit);
  }
  parser_busy = true;
  struct Release {
    ~Release() { parser_busy = false; }
  } release;
  return Parse(parser, bytes, visit);
}

Result<Record> DecodeRecord(std::string_view bytes) {
  Record record;
  Result<std::string_view> key = VisitRecord(bytes, [&record](const SessionView& s) {
    StoredSession& out = record.sessions.emplace_back();
    std::memcpy(out.id.data(), s.id.data(), out.id.size());
    std::memcpy(out.token_hash.data(), s.token_hash.data(), out.token_hash.size());
    out.created_ms = s.created_ms;
    out.expires_ms = s.expires_ms;
    out.last_seen_ms = s.last_seen_ms;
    out.meta.assign(s.meta);
  });
  if (!key) return key.error();
  record.key.assign(*key);
  return record;
}

}  // namespace jeff
