#pragma once
// A second, independent decoder of the v1 record built on msgpack-c's generic
// unpacker: the tests and the record fuzz target hold jeff's own decoder to it
// (same verdict on every input, same values when both accept).

#include <jeff/clock.hpp>
#include <jeff/detail/record.hpp>

#include <msgpack.hpp>

#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

namespace jeff::test {

inline bool OracleInt(const msgpack::object& o, std::int64_t& out) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(o.via.u64);
    return true;
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    out = o.via.i64;
    return true;
  }
  return false;
}

// A stored time: an integer from 0 to the last millisecond a TimePoint holds.
inline bool OracleTime(const msgpack::object& o, std::int64_t& out) {
  return OracleInt(o, out) && out >= 0 && out <= jeff::kMaxUnixMillis;
}

inline bool OracleBin(const msgpack::object& o, std::string_view& out) {
  if (o.type != msgpack::type::BIN) return false;
  out = std::string_view(o.via.bin.ptr, o.via.bin.size);
  return true;
}

// The record in `bytes` as msgpack-c reads it, or std::nullopt when msgpack-c
// rejects the bytes or they are not exactly the v1 shape.
inline std::optional<jeff::Record> OracleDecode(std::string_view bytes) {
  try {
    // No container can hold more elements than there are bytes; the limit
    // keeps msgpack-c from reserving memory for a hostile declared size.
    const std::size_t n = bytes.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, 8);
    std::size_t offset = 0;
    const msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    if (offset != bytes.size()) return std::nullopt;
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size != 3) return std::nullopt;
    const msgpack::object* top = root.via.array.ptr;
    std::int64_t version = 0;
    std::string_view key;
    if (!OracleInt(top[0], version) || version != 1 || !OracleBin(top[1], key) ||
        top[2].type != msgpack::type::ARRAY) {
      return std::nullopt;
    }
    jeff::Record record;
    record.key.assign(key);
    for (std::uint32_t i = 0; i < top[2].via.array.size; ++i) {
      const msgpack::object& s = top[2].via.array.ptr[i];
      if (s.type != msgpack::type::ARRAY || s.via.array.size != 6) return std::nullopt;
      const msgpack::object* f = s.via.array.ptr;
      std::string_view id, hash, meta;
      jeff::StoredSession& out = record.sessions.emplace_back();
      if (!OracleBin(f[0], id) || id.size() != out.id.size() || !OracleBin(f[1], hash) ||
          hash.size() != out.token_hash.size() || !OracleTime(f[2], out.created_ms) ||
          !OracleTime(f[3], out.expires_ms) || !OracleTime(f[4], out.last_seen_ms) ||
          !OracleBin(f[5], meta)) {
        return std::nullopt;
      }
      std::memcpy(out.id.data(), id.data(), id.size());
      std::memcpy(out.token_hash.data(), hash.data(), hash.size());
      out.meta.assign(meta);
    }
    return record;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace jeff::test
