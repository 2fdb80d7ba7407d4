#pragma once
// A second, independent decoder of the record (v1 and v2) built on msgpack-c's generic
// unpacker: the tests and the record fuzz target hold jeff's own decoder to it
// (same verdict on every input, same values when both accept).

#include <jeff/clock.hpp>
#include <jeff/detail/record.hpp>

#include <msgpack.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

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

// A bin of min ... max bytes.
inline bool OracleBytes(const msgpack::object& o, std::size_t min, std::size_t max,
                        std::vector<std::uint8_t>& out) {
  std::string_view bin;
  if (!OracleBin(o, bin) || bin.size() < min || bin.size() > max) return false;
  out.assign(bin.begin(), bin.end());
  return true;
}

template <std::size_t N>
inline bool OracleFixed(const msgpack::object& o, std::array<std::uint8_t, N>& out) {
  std::string_view bin;
  if (!OracleBin(o, bin) || bin.size() != N) return false;
  std::memcpy(out.data(), bin.data(), N);
  return true;
}

// An array of exactly n elements.
inline const msgpack::object* OracleTuple(const msgpack::object& o, std::uint32_t n) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != n) return nullptr;
  return o.via.array.ptr;
}

// One ext entry (docs/design.md, "Formats") into `out`.
inline bool OracleExtEntry(std::int64_t key, const msgpack::object& v, jeff::StoredSession& out) {
  switch (key) {
    case 1:
      if (v.type != msgpack::type::BOOLEAN) return false;
      out.persistent = v.via.boolean;
      return true;
    case 2: {
      std::int64_t ms = 0;
      if (!OracleTime(v, ms)) return false;
      out.authenticated_at_ms = ms;
      return true;
    }
    case 3: {
      const msgpack::object* f = OracleTuple(v, 3);
      std::int64_t alg = 0;
      jeff::StoredDeviceKey& device = out.device_key.emplace();
      if (f == nullptr || !OracleInt(f[0], alg) || (alg != 1 && alg != 2) ||
          !OracleBytes(f[1], 1, 2048, device.spki) || !OracleFixed(f[2], device.thumbprint)) {
        return false;
      }
      device.alg = static_cast<jeff::DeviceKeyAlg>(alg);
      return true;
    }
    case 4: {
      const msgpack::object* f = OracleTuple(v, 2);
      jeff::StoredChallenge& challenge = out.challenge.emplace();
      return f != nullptr && OracleBytes(f[0], 16, 64, challenge.nonce) &&
             OracleTime(f[1], challenge.expires_ms);
    }
    case 5: {
      if (v.type != msgpack::type::ARRAY || v.via.array.size > 2) return false;
      for (std::uint32_t i = 0; i < v.via.array.size; ++i) {
        const msgpack::object* f = OracleTuple(v.via.array.ptr[i], 2);
        jeff::StoredBoundCookie& cookie = out.bound_cookies.emplace_back();
        if (f == nullptr || !OracleFixed(f[0], cookie.token_hash) || !OracleTime(f[1], cookie.expires_ms)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

// A v2 session's ext map: known keys, strictly ascending.
inline bool OracleExt(const msgpack::object& o, jeff::StoredSession& out) {
  if (o.type != msgpack::type::MAP) return false;
  std::int64_t previous = 0;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    std::int64_t key = 0;
    if (!OracleInt(o.via.map.ptr[i].key, key) || key <= previous ||
        !OracleExtEntry(key, o.via.map.ptr[i].val, out)) {
      return false;
    }
    previous = key;
  }
  return true;
}

// The record in `bytes` as msgpack-c reads it, or std::nullopt when msgpack-c
// rejects the bytes or they are not exactly the v1 or v2 shape.
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
    if (!OracleInt(top[0], version) || (version != 1 && version != 2) || !OracleBin(top[1], key) ||
        top[2].type != msgpack::type::ARRAY) {
      return std::nullopt;
    }
    jeff::Record record;
    record.key.assign(key);
    for (std::uint32_t i = 0; i < top[2].via.array.size; ++i) {
      const msgpack::object& s = top[2].via.array.ptr[i];
      const std::uint32_t fields = version == 1 ? 6 : 7;
      if (s.type != msgpack::type::ARRAY || s.via.array.size != fields) return std::nullopt;
      const msgpack::object* f = s.via.array.ptr;
      std::string_view id, hash, meta;
      jeff::StoredSession& out = record.sessions.emplace_back();
      if (!OracleBin(f[0], id) || id.size() != out.id.size() || !OracleBin(f[1], hash) ||
          hash.size() != out.token_hash.size() || !OracleTime(f[2], out.created_ms) ||
          !OracleTime(f[3], out.expires_ms) || !OracleTime(f[4], out.last_seen_ms) ||
          !OracleBin(f[5], meta) || (version == 2 && !OracleExt(f[6], out))) {
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
