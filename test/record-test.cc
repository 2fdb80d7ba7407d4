#include <jeff/detail/record.hpp>

#include <doctest/doctest.h>

#include "support/msgpack_oracle.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <thread>

// Counts allocations so that the test can hold VisitRecord to its promise.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// These replace the global allocation functions, so GCC's new/delete pairing
// check, which sees malloc and free, does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

using jeff::Errc;
using jeff::Record;
using jeff::StoredSession;

// A hand-written msgpack writer: the tests must not trust the encoder they test.
struct Msgpack {
  std::string bytes;

  Msgpack& Raw(std::initializer_list<int> raw) {
    for (int b : raw) bytes.push_back(static_cast<char>(b));
    return *this;
  }
  Msgpack& Be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  Msgpack& Array(std::uint32_t n) {
    if (n < 16) return Raw({0x90 | static_cast<int>(n)});
    return Raw({0xdd}).Be(n, 4);
  }
  Msgpack& Map(std::uint32_t n) {
    if (n < 16) return Raw({0x80 | static_cast<int>(n)});
    return Raw({0xdf}).Be(n, 4);
  }
  Msgpack& Bool(bool b) { return Raw({b ? 0xc3 : 0xc2}); }
  Msgpack& Int(std::int64_t v) {
    if (v >= 0 && v < 128) return Raw({static_cast<int>(v)});
    return Raw({0xd3}).Be(static_cast<std::uint64_t>(v), 8);
  }
  Msgpack& Bin(std::string_view data) {
    if (data.size() < 256) {
      Raw({0xc4, static_cast<int>(data.size())});
    } else {
      Raw({0xc6}).Be(data.size(), 4);
    }
    bytes.append(data);
    return *this;
  }
  Msgpack& Bin(std::size_t n, char fill) { return Bin(std::string(n, fill)); }
  Msgpack& Times() { return Int(1).Int(2).Int(3); }
  Msgpack& IdAndHash() { return Array(6).Bin(16, 'i').Bin(32, 'h'); }
  Msgpack& Session(std::string_view meta = "m") { return IdAndHash().Times().Bin(meta); }
  // A record of one session, up to the session's first byte.
  Msgpack& OneSessionRecord() { return Array(3).Int(1).Bin("k").Array(1); }

  // Format v2: the same, with each session's seventh field, the ext map.
  Msgpack& OneSessionRecordV2() { return Array(3).Int(2).Bin("k").Array(1); }
  // A v2 session up to its ext map.
  Msgpack& SessionV2Fields() { return Array(7).Bin(16, 'i').Bin(32, 'h').Times().Bin("m"); }
  // A v2 record of one session whose ext map has `entries` entries, up to the first key.
  Msgpack& ExtRecord(std::uint32_t entries) { return OneSessionRecordV2().SessionV2Fields().Map(entries); }
  // Valid ext values, one per key.
  Msgpack& DeviceKey(int alg = 1, std::size_t spki = 91) {
    return Array(3).Int(alg).Bin(spki, 's').Bin(32, 't');
  }
  Msgpack& Challenge(std::size_t nonce = 32) { return Array(2).Bin(nonce, 'n').Int(1000); }
  Msgpack& BoundCookie() { return Array(2).Bin(32, 'b').Int(2000); }
};

StoredSession MakeSession(int n) {
  StoredSession s;
  for (std::size_t i = 0; i < s.id.size(); ++i) s.id[i] = static_cast<std::uint8_t>(n * 31 + i);
  for (std::size_t i = 0; i < s.token_hash.size(); ++i) {
    s.token_hash[i] = static_cast<std::uint8_t>(n * 7 + i * 3);
  }
  s.created_ms = 1893456000000 + n;
  s.expires_ms = s.created_ms + 30LL * 24 * 3600 * 1000;
  s.last_seen_ms = s.created_ms + 5;
  s.meta = "{\"n\":" + std::to_string(n) + "}";
  return s;
}

// A session carrying every ext entry (format v2).
StoredSession MakeExtSession(int n) {
  StoredSession s = MakeSession(n);
  s.persistent = n % 2 == 0;
  s.authenticated_at_ms = s.created_ms + 7;
  s.device_key = jeff::StoredDeviceKey{jeff::DeviceKeyAlg::kRs256,
                                       std::vector<std::uint8_t>(294, static_cast<std::uint8_t>(n)), {}};
  s.device_key->thumbprint.fill(static_cast<std::uint8_t>(0xa0 + n));
  s.challenge = jeff::StoredChallenge{std::vector<std::uint8_t>(32, 0x4e), s.created_ms + 60000};
  s.bound_cookies.resize(2);
  s.bound_cookies[0].token_hash.fill(0xb1);
  s.bound_cookies[0].expires_ms = s.created_ms + 600000;
  s.bound_cookies[1].token_hash.fill(0xb2);
  s.bound_cookies[1].expires_ms = s.created_ms + 300000;
  return s;
}

Record MakeRecord(int sessions) {
  Record r;
  r.key = "alice@example.com";
  for (int i = 0; i < sessions; ++i) r.sessions.push_back(MakeSession(i));
  return r;
}

// Corrupt for every reader: VisitRecord, DecodeRecord and Check's
// RecordReader::FindTokenHash.
bool IsCorrupt(std::string_view bytes) {
  const auto visited = jeff::VisitRecord(bytes, [](const jeff::SessionView&) {});
  const auto decoded = jeff::DecodeRecord(bytes);
  std::optional<jeff::SessionView> match;
  const auto found = jeff::RecordReader(bytes).FindTokenHash(jeff::TokenHash{}, match);
  return !visited.ok() && visited.error() == Errc::kStoreCorrupt && !decoded.ok() &&
         decoded.error() == Errc::kStoreCorrupt && !found.ok() && found.error() == Errc::kStoreCorrupt;
}

}  // namespace

TEST_CASE("EncodeRecord writes format v1 byte for byte") {
  Record r;
  r.key = "k";
  StoredSession s;
  s.id.fill(0x11);
  s.token_hash.fill(0x22);
  s.created_ms = 1;
  s.expires_ms = 1893456000000;
  s.last_seen_ms = -1;
  s.meta = "";
  r.sessions.push_back(s);

  std::string expected = "\x93\x01\xc4\x01k\x91\x96\xc4\x10";
  expected += std::string(16, '\x11');
  expected += "\xc4\x20";
  expected += std::string(32, '\x22');
  expected += '\x01';
  // msgpack-c packs a positive int64 in the smallest unsigned format, -1 as a negative fixint.
  expected += std::string("\xcf\x00\x00\x01\xb8\xda\xc5\xb4\x00", 9);
  expected += "\xff";
  expected += std::string("\xc4\x00", 2);
  CHECK(jeff::EncodeRecord(r) == expected);

  CHECK(jeff::EncodeRecord(Record{}) == std::string("\x93\x01\xc4\x00\x90", 5));
}

TEST_CASE("EncodeRecord writes v1 unless a session carries an ext entry, then v2 byte for byte") {
  Record r;
  r.key = "k";
  StoredSession plain;
  plain.id.fill('i');
  plain.token_hash.fill('h');
  plain.created_ms = 1;
  plain.expires_ms = 2;
  plain.last_seen_ms = 3;
  plain.meta = "m";
  r.sessions = {plain, plain};
  // v1 exactly as before v2 existed: what a fleet rolled back can still read.
  CHECK(jeff::EncodeRecord(r) == Msgpack().Array(3).Int(1).Bin("k").Array(2).Session().Session().bytes);

  SUBCASE("one ext entry makes every session v2") {
    r.sessions[1].persistent = false;
    const std::string expected = Msgpack()
                                     .Array(3).Int(2).Bin("k").Array(2)
                                     .SessionV2Fields().Map(0)
                                     .SessionV2Fields().Map(1).Int(1).Bool(false)
                                     .bytes;
    CHECK(jeff::EncodeRecord(r) == expected);
  }
  SUBCASE("every key, in ascending order") {
    StoredSession& s = r.sessions[0];
    s.persistent = true;
    s.authenticated_at_ms = 100;
    s.device_key = jeff::StoredDeviceKey{jeff::DeviceKeyAlg::kEs256, std::vector<std::uint8_t>(91, 's'), {}};
    s.device_key->thumbprint.fill('t');
    s.challenge = jeff::StoredChallenge{std::vector<std::uint8_t>(32, 'n'), 1000};
    s.bound_cookies.resize(2);
    s.bound_cookies[0].token_hash.fill('b');
    s.bound_cookies[0].expires_ms = 2000;
    s.bound_cookies[1].token_hash.fill('b');
    s.bound_cookies[1].expires_ms = 2000;
    const std::string expected = Msgpack()
                                     .Array(3).Int(2).Bin("k").Array(2)
                                     .SessionV2Fields().Map(5)
                                     .Int(1).Bool(true)
                                     .Int(2).Int(100)
                                     .Int(3).DeviceKey()
                                     .Int(4).Raw({0x92}).Bin(32, 'n').Raw({0xcd, 0x03, 0xe8})
                                     .Int(5).Array(2)
                                     .Raw({0x92}).Bin(32, 'b').Raw({0xcd, 0x07, 0xd0})
                                     .Raw({0x92}).Bin(32, 'b').Raw({0xcd, 0x07, 0xd0})
                                     .SessionV2Fields().Map(0)
                                     .bytes;
    CHECK(jeff::EncodeRecord(r) == expected);
  }
  SUBCASE("an empty bound-cookie list is no entry") {
    r.sessions[0].bound_cookies.clear();
    CHECK(jeff::EncodeRecord(r)[1] == '\x01');
  }
}

TEST_CASE("v2 records round-trip, every ext entry alone and all together") {
  for (int n : {1, 2, 17}) {
    CAPTURE(n);
    Record r = MakeRecord(n);
    for (int i = 0; i < n; i += 2) r.sessions[i] = MakeExtSession(i);
    const std::string bytes = jeff::EncodeRecord(r);
    CHECK(bytes[1] == '\x02');
    const auto decoded = jeff::DecodeRecord(bytes);
    REQUIRE(decoded.ok());
    CHECK(*decoded == r);
  }
  const StoredSession full = MakeExtSession(4);
  for (int key = 1; key <= 5; ++key) {
    CAPTURE(key);
    StoredSession s = MakeSession(4);
    switch (key) {
      case 1: s.persistent = full.persistent; break;
      case 2: s.authenticated_at_ms = full.authenticated_at_ms; break;
      case 3: s.device_key = full.device_key; break;
      case 4: s.challenge = full.challenge; break;
      default: s.bound_cookies = {full.bound_cookies[0]}; break;
    }
    Record r = MakeRecord(1);
    r.sessions.push_back(s);
    const auto decoded = jeff::DecodeRecord(jeff::EncodeRecord(r));
    REQUIRE(decoded.ok());
    CHECK(*decoded == r);
    CHECK_FALSE(decoded->sessions[0].HasExt());
    CHECK(decoded->sessions[1].HasExt());
  }
  SUBCASE("the extremes of every length and time") {
    Record r = MakeRecord(0);
    StoredSession s = MakeExtSession(1);
    s.authenticated_at_ms = 0;
    s.device_key->spki.assign(jeff::kMaxSpkiBytes, 0xff);  // bin 16
    s.challenge->nonce.assign(jeff::kMinNonceBytes, 0);
    s.challenge->expires_ms = jeff::kMaxUnixMillis;
    s.bound_cookies[1].expires_ms = 0;
    r.sessions.push_back(s);
    s.device_key->spki.assign(1, 0x30);
    s.challenge->nonce.assign(jeff::kMaxNonceBytes, 0x7f);
    s.authenticated_at_ms = jeff::kMaxUnixMillis;
    r.sessions.push_back(s);
    const auto decoded = jeff::DecodeRecord(jeff::EncodeRecord(r));
    REQUIRE(decoded.ok());
    CHECK(*decoded == r);
  }
}

TEST_CASE("a SessionView shows the ext entries as views into the bytes") {
  Record r = MakeRecord(2);
  r.sessions[1] = MakeExtSession(1);
  const std::string bytes = jeff::EncodeRecord(r);
  const auto inside = [&](std::span<const std::uint8_t> view) {
    const auto* p = reinterpret_cast<const char*>(view.data());
    return p >= bytes.data() && p + view.size() <= bytes.data() + bytes.size();
  };
  std::vector<jeff::SessionView> views;
  REQUIRE(jeff::VisitRecord(bytes, [&](const jeff::SessionView& s) { views.push_back(s); }).ok());
  REQUIRE(views.size() == 2);
  CHECK(views[0].ext.size() == 1);  // an empty map: this record is v2
  CHECK_FALSE(views[0].persistent());
  CHECK_FALSE(views[0].authenticated_at_ms());
  CHECK_FALSE(views[0].device_key());
  CHECK_FALSE(views[0].challenge());
  CHECK(views[0].bound_cookies().empty());

  const StoredSession& want = r.sessions[1];
  const jeff::SessionView& v = views[1];
  CHECK(inside(v.ext));
  CHECK(v.persistent() == want.persistent);
  CHECK(v.authenticated_at_ms() == want.authenticated_at_ms);
  const auto device_key = v.device_key();
  REQUIRE(device_key);
  CHECK(device_key->alg == jeff::DeviceKeyAlg::kRs256);
  CHECK(std::ranges::equal(device_key->spki, want.device_key->spki));
  CHECK(std::ranges::equal(device_key->thumbprint, want.device_key->thumbprint));
  CHECK(inside(device_key->spki));
  CHECK(inside(device_key->thumbprint));
  const auto challenge = v.challenge();
  REQUIRE(challenge);
  CHECK(std::ranges::equal(challenge->nonce, want.challenge->nonce));
  CHECK(inside(challenge->nonce));
  CHECK(challenge->expires_ms == want.challenge->expires_ms);
  REQUIRE(v.bound_cookies().size() == 2);
  std::size_t i = 0;
  for (const jeff::BoundCookieView& cookie : v.bound_cookies()) {
    CHECK(std::ranges::equal(cookie.token_hash, want.bound_cookies[i].token_hash));
    CHECK(inside(cookie.token_hash));
    CHECK(cookie.expires_ms == want.bound_cookies[i].expires_ms);
    ++i;
  }
  CHECK(i == 2);
}

TEST_CASE("accepted encodings of ext maps") {
  const auto ok = [](const Msgpack& m) { return jeff::DecodeRecord(m.bytes); };
  SUBCASE("an empty map, also as map 16 and map 32") {
    CHECK(ok(Msgpack().ExtRecord(0)).ok());
    CHECK(ok(Msgpack().OneSessionRecordV2().SessionV2Fields().Raw({0xde, 0, 0})).ok());
    CHECK(ok(Msgpack().OneSessionRecordV2().SessionV2Fields().Raw({0xdf, 0, 0, 0, 0})).ok());
    const auto r = ok(Msgpack().ExtRecord(0));
    CHECK_FALSE(r->sessions[0].HasExt());
  }
  SUBCASE("keys in any integer encoding, entries skipped") {
    const auto r = ok(Msgpack().ExtRecord(2).Raw({0xcc, 2}).Int(5).Raw({0xd3}).Be(4, 8).Challenge());
    REQUIRE(r.ok());
    CHECK(r->sessions[0].authenticated_at_ms == 5);
    CHECK(r->sessions[0].challenge->expires_ms == 1000);
    CHECK_FALSE(r->sessions[0].persistent);
  }
  SUBCASE("an empty bound-cookie array means none") {
    const auto r = ok(Msgpack().ExtRecord(1).Int(5).Array(0));
    REQUIRE(r.ok());
    CHECK(r->sessions[0].bound_cookies.empty());
  }
  SUBCASE("a v2 record without sessions") {
    CHECK(ok(Msgpack().Array(3).Int(2).Bin("k").Array(0)).ok());
  }
}

TEST_CASE("ext deviations are corrupt: fail closed") {
  const auto E = [](std::uint32_t entries) { return Msgpack().ExtRecord(entries); };
  const std::pair<const char*, Msgpack> cases[] = {
      // Unknown keys: an older reader must not rewrite what it cannot keep.
      {"key 6", E(1).Int(6).Bool(true)},
      {"key 0", E(1).Int(0).Bool(true)},
      {"key -1", E(1).Raw({0xff}).Bool(true)},
      {"key 2^63", E(1).Raw({0xcf}).Be(1ULL << 63, 8).Bool(true)},
      {"key 127", E(1).Int(127).Int(0)},
      {"unknown key after known ones", E(2).Int(1).Bool(true).Int(9).Int(0)},
      {"key as str", E(1).Raw({0xa1, '1'}).Bool(true)},
      {"key as bin", E(1).Bin("").Bool(true)},
      {"key as nil", E(1).Raw({0xc0}).Bool(true)},
      {"key as float", E(1).Raw({0xca, 0x3f, 0x80, 0, 0}).Bool(true)},
      // Order.
      {"keys descending", E(2).Int(2).Int(5).Int(1).Bool(true)},
      {"key repeated", E(2).Int(1).Bool(true).Int(1).Bool(false)},
      {"key 5 repeated", E(2).Int(5).Array(0).Int(5).Array(0)},
      // Container shape.
      {"ext as array", Msgpack().OneSessionRecordV2().SessionV2Fields().Array(0)},
      {"ext as nil", Msgpack().OneSessionRecordV2().SessionV2Fields().Raw({0xc0})},
      {"ext as bin", Msgpack().OneSessionRecordV2().SessionV2Fields().Bin("")},
      {"ext missing", Msgpack().OneSessionRecordV2().Array(6).Bin(16, 'i').Bin(32, 'h').Times().Bin("m")},
      {"ext in a v1 record", Msgpack().OneSessionRecord().SessionV2Fields().Map(0)},
      {"v2 session of 8", Msgpack().OneSessionRecordV2().Array(8).Bin(16, 'i').Bin(32, 'h').Times().Bin("m").Map(0).Map(0)},
      {"fewer entries than declared", E(2).Int(1).Bool(true)},
      {"more entries than declared", E(1).Int(1).Bool(true).Int(2).Int(5)},
      {"map 32 of 2^32-1 entries", Msgpack().OneSessionRecordV2().SessionV2Fields().Raw({0xdf}).Be(0xffffffff, 4).Int(1).Bool(true)},
      // Key 1: a bool.
      {"persistent as 1", E(1).Int(1).Int(1)},
      {"persistent as nil", E(1).Int(1).Raw({0xc0})},
      {"persistent as str", E(1).Int(1).Raw({0xa4, 't', 'r', 'u', 'e'})},
      // Key 2: a stored time.
      {"authenticated_at negative", E(1).Int(2).Raw({0xff})},
      {"authenticated_at past 2262", E(1).Int(2).Int(jeff::kMaxUnixMillis + 1)},
      {"authenticated_at above int64", E(1).Int(2).Raw({0xcf}).Be(1ULL << 63, 8)},
      {"authenticated_at as bool", E(1).Int(2).Bool(true)},
      {"authenticated_at as float", E(1).Int(2).Raw({0xcb}).Be(0, 8)},
      // Key 3: [alg 1|2, spki bin 1..2048, thumbprint bin 32].
      {"alg 0", E(1).Int(3).DeviceKey(0)},
      {"alg 3", E(1).Int(3).DeviceKey(3)},
      {"alg -1", E(1).Int(3).Array(3).Raw({0xff}).Bin(91, 's').Bin(32, 't')},
      {"alg as str", E(1).Int(3).Array(3).Raw({0xa5, 'E', 'S', '2', '5', '6'}).Bin(91, 's').Bin(32, 't')},
      {"spki empty", E(1).Int(3).DeviceKey(1, 0)},
      {"spki of 2049", E(1).Int(3).DeviceKey(1, 2049)},
      {"spki as str", E(1).Int(3).Array(3).Int(1).Raw({0xa1, 's'}).Bin(32, 't')},
      {"thumbprint of 31", E(1).Int(3).Array(3).Int(1).Bin(91, 's').Bin(31, 't')},
      {"thumbprint of 33", E(1).Int(3).Array(3).Int(1).Bin(91, 's').Bin(33, 't')},
      {"device key of 2", E(1).Int(3).Array(2).Int(1).Bin(91, 's')},
      {"device key of 4", E(1).Int(3).Array(4).Int(1).Bin(91, 's').Bin(32, 't').Int(0)},
      {"device key as map", E(1).Int(3).Map(0)},
      // Key 4: [nonce bin 16..64, expires_ms].
      {"nonce of 15", E(1).Int(4).Challenge(15)},
      {"nonce of 65", E(1).Int(4).Challenge(65)},
      {"nonce empty", E(1).Int(4).Challenge(0)},
      {"challenge expires negative", E(1).Int(4).Array(2).Bin(32, 'n').Int(-5)},
      {"challenge expires past 2262", E(1).Int(4).Array(2).Bin(32, 'n').Int(jeff::kMaxUnixMillis + 1)},
      {"challenge expires as nil", E(1).Int(4).Array(2).Bin(32, 'n').Raw({0xc0})},
      {"challenge of 1", E(1).Int(4).Array(1).Bin(32, 'n')},
      {"challenge of 3", E(1).Int(4).Array(3).Bin(32, 'n').Int(1).Int(1)},
      {"challenge as bin", E(1).Int(4).Bin(32, 'n')},
      // Key 5: 0..2 of [token_hash bin 32, expires_ms].
      {"three bound cookies", E(1).Int(5).Array(3).BoundCookie().BoundCookie().BoundCookie()},
      {"bound hash of 31", E(1).Int(5).Array(1).Array(2).Bin(31, 'b').Int(1)},
      {"bound hash of 33", E(1).Int(5).Array(1).Array(2).Bin(33, 'b').Int(1)},
      {"bound expires negative", E(1).Int(5).Array(1).Array(2).Bin(32, 'b').Int(-1)},
      {"bound expires at int64 max", E(1).Int(5).Array(1).Array(2).Bin(32, 'b').Int(INT64_MAX)},
      {"bound cookie of 3", E(1).Int(5).Array(1).Array(3).Bin(32, 'b').Int(1).Int(1)},
      {"bound cookie as bin", E(1).Int(5).Array(1).Bin(32, 'b')},
      {"bound cookies as map", E(1).Int(5).Map(0)},
      {"fewer bound cookies than declared", E(1).Int(5).Array(2).BoundCookie()},
  };
  for (const auto& [name, m] : cases) {
    CAPTURE(name);
    CHECK(IsCorrupt(m.bytes));
  }
  // The builder's values are valid on their own.
  CHECK_FALSE(IsCorrupt(E(5)
                            .Int(1).Bool(false)
                            .Int(2).Int(0)
                            .Int(3).DeviceKey(2)
                            .Int(4).Challenge()
                            .Int(5).Array(2).BoundCookie().BoundCookie()
                            .bytes));
}

TEST_CASE("EncodeRecord refuses ext entries the reader would refuse") {
  const auto encode = [](const StoredSession& s) {
    Record r;
    r.key = "k";
    r.sessions.push_back(s);
    return jeff::EncodeRecord(r);
  };
  CHECK_NOTHROW((void)encode(MakeExtSession(1)));
  const std::pair<const char*, std::function<void(StoredSession&)>> cases[] = {
      {"authenticated_at negative", [](StoredSession& s) { s.authenticated_at_ms = -1; }},
      {"unknown alg", [](StoredSession& s) { s.device_key->alg = static_cast<jeff::DeviceKeyAlg>(3); }},
      {"empty spki", [](StoredSession& s) { s.device_key->spki.clear(); }},
      {"spki too long", [](StoredSession& s) { s.device_key->spki.resize(jeff::kMaxSpkiBytes + 1); }},
      {"nonce too short", [](StoredSession& s) { s.challenge->nonce.resize(jeff::kMinNonceBytes - 1); }},
      {"nonce too long", [](StoredSession& s) { s.challenge->nonce.resize(jeff::kMaxNonceBytes + 1); }},
      {"challenge past 2262", [](StoredSession& s) { s.challenge->expires_ms = jeff::kMaxUnixMillis + 1; }},
      {"three bound cookies", [](StoredSession& s) { s.bound_cookies.resize(3); }},
      {"bound cookie negative", [](StoredSession& s) { s.bound_cookies[1].expires_ms = -1; }},
  };
  for (const auto& [name, spoil] : cases) {
    CAPTURE(name);
    StoredSession s = MakeExtSession(1);
    spoil(s);
    CHECK_THROWS_AS((void)encode(s), std::invalid_argument);
  }
}

// ---- Format v4: the move fields (docs/design.md, "Moving records to the newest key id") ----

namespace {

const std::string kKidA(jeff::kKeyIdChars, 'A');
const std::string kKidB = "abcdefghij-_0123456789";

jeff::MoveId MakeMoveId(std::uint8_t fill) {
  jeff::MoveId id;
  id.fill(fill);
  return id;
}

// A frozen record holding one copy, which itself absorbed an earlier move.
Record MakeMovedRecord() {
  Record r = MakeRecord(2);
  r.sessions[1].origin = jeff::StoredMoveRef{kKidB, MakeMoveId(0x5a)};
  r.moved_to = jeff::StoredMoveRef{kKidA, MakeMoveId(0x6b)};
  r.absorbed.push_back({kKidB, MakeMoveId(0x5a), 1893456000999});
  r.absorbed.push_back({kKidA, MakeMoveId(0x01), 0});
  return r;
}

}  // namespace

TEST_CASE("EncodeRecord writes v4 only for move fields, byte for byte") {
  Record r;
  r.key = "k";
  r.moved_to = jeff::StoredMoveRef{kKidA, MakeMoveId(0x33)};
  // [4, "k", [], {1: [kid, move id]}]
  std::string expected = "\x94\x04\xc4\x01k\x90\x81\x01\x92\xc4\x16";
  expected += kKidA;
  expected += "\xc4\x10";
  expected += std::string(16, '\x33');
  CHECK(jeff::EncodeRecord(r) == expected);

  Record copy = MakeRecord(1);
  CHECK(jeff::EncodeRecord(copy)[1] == '\x01');
  copy.sessions[0].origin = jeff::StoredMoveRef{kKidB, MakeMoveId(0x44)};
  const std::string bytes = jeff::EncodeRecord(copy);
  CHECK(bytes.substr(0, 2) == "\x94\x04");
  CHECK(bytes.back() == '\x80');  // an empty record-level map
}

TEST_CASE("v4 records round-trip, and the reader shows the move fields") {
  const Record r = MakeMovedRecord();
  const std::string bytes = jeff::EncodeRecord(r);
  const auto decoded = jeff::DecodeRecord(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == r);

  jeff::RecordReader reader(bytes);
  std::vector<std::optional<jeff::MoveRefView>> origins;
  while (const auto s = reader.Next()) origins.push_back(s->origin());
  REQUIRE(reader.Finish().ok());
  REQUIRE(origins.size() == 2);
  CHECK_FALSE(origins[0]);
  REQUIRE(origins[1]);
  CHECK(origins[1]->kid == kKidB);
  CHECK(origins[1]->move_id[0] == 0x5a);
  const auto moved_to = reader.moved_to();
  REQUIRE(moved_to);
  CHECK(moved_to->kid == kKidA);
  CHECK(moved_to->move_id[15] == 0x6b);

  SUBCASE("without sessions, and with each record-level entry alone") {
    Record frozen_only;
    frozen_only.key = "k";
    frozen_only.moved_to = r.moved_to;
    Record absorbed_only;
    absorbed_only.key = "k";
    absorbed_only.absorbed = r.absorbed;
    for (const Record& one : {frozen_only, absorbed_only}) {
      const auto again = jeff::DecodeRecord(jeff::EncodeRecord(one));
      REQUIRE(again.ok());
      CHECK(*again == one);
    }
  }
  SUBCASE("FindTokenHash (Check's read) reads the record-level map too") {
    jeff::RecordReader finder(bytes);
    std::optional<jeff::SessionView> match;
    const auto key = finder.FindTokenHash(r.sessions[1].token_hash, match);
    REQUIRE(key.ok());
    CHECK(*key == r.key);
    REQUIRE(match);
    CHECK(std::equal(match->id.begin(), match->id.end(), r.sessions[1].id.begin()));
    REQUIRE(match->origin());
    CHECK(match->origin()->kid == kKidB);
    REQUIRE(finder.moved_to());
    CHECK(finder.moved_to()->kid == kKidA);
    CHECK(finder.HasAbsorbed(MakeMoveId(0x5a)));
    CHECK_FALSE(finder.HasAbsorbed(MakeMoveId(0x6b)));
  }
  SUBCASE("a v1/v2 record shows none") {
    const std::string plain_bytes = jeff::EncodeRecord(MakeRecord(1));
    jeff::RecordReader plain(plain_bytes);
    while (plain.Next()) {
    }
    REQUIRE(plain.Finish().ok());
    CHECK_FALSE(plain.moved_to());
    CHECK(plain.absorbed().empty());
  }
}

TEST_CASE("v4 deviations are corrupt: fail closed") {
  const auto v4 = [](std::uint32_t map_entries) {
    Msgpack m;
    m.Array(4).Int(4).Bin("k").Array(0).Map(map_entries);
    return m;
  };
  const auto ref = [](Msgpack& m, std::string_view kid, std::size_t id_bytes = 16) -> Msgpack& {
    return m.Array(2).Bin(kid).Bin(id_bytes, 'm');
  };
  {
    Msgpack ok = v4(1).Int(1);
    CHECK_FALSE(IsCorrupt(ref(ok, kKidA).bytes));
    Msgpack absorbed = v4(1).Int(2).Array(1).Array(3).Bin(kKidA).Bin(16, 'm').Int(5);
    CHECK_FALSE(IsCorrupt(absorbed.bytes));
  }
  Msgpack m;
  CHECK(IsCorrupt(Msgpack().Array(3).Int(4).Bin("k").Array(0).bytes));           // v4 without its map
  CHECK(IsCorrupt(Msgpack().Array(3).Int(4).Bin("k").Array(0).Map(0).bytes));    // v4 header of three
  CHECK(IsCorrupt(Msgpack().Array(4).Int(2).Bin("k").Array(0).Map(0).bytes));    // v2 with a fourth element
  CHECK(IsCorrupt(Msgpack().Array(4).Int(5).Bin("k").Array(0).Map(0).bytes));    // unknown version
  CHECK(IsCorrupt(v4(1).Int(3).Int(0).bytes));                                     // unknown record key
  {
    Msgpack twice = v4(2).Int(1);
    ref(twice, kKidA).Int(1);
    CHECK(IsCorrupt(ref(twice, kKidA).bytes));  // repeated key
  }
  {
    Msgpack reversed = v4(2).Int(2).Array(0).Int(1);
    CHECK(IsCorrupt(ref(reversed, kKidA).bytes));  // keys out of order
  }
  {
    Msgpack short_kid = v4(1).Int(1);
    CHECK(IsCorrupt(ref(short_kid, kKidA.substr(1)).bytes));
    Msgpack bad_char = v4(1).Int(1);
    CHECK(IsCorrupt(ref(bad_char, std::string(21, 'A') + ".").bytes));
    Msgpack short_id = v4(1).Int(1);
    CHECK(IsCorrupt(ref(short_id, kKidA, 15).bytes));
  }
  CHECK(IsCorrupt(v4(1).Int(2).Array(1).Array(3).Bin(kKidA).Bin(16, 'm').Int(-1).bytes));  // time
  CHECK(IsCorrupt(v4(1).Int(2).Array(1).Array(2).Bin(kKidA).Bin(16, 'm').bytes));          // fields
  CHECK(IsCorrupt(v4(0).Raw({0xc0}).bytes));                                                // trailing
  CHECK(IsCorrupt(v4(1).bytes));                                                            // truncated
  {
    // Ext key 6 with a wrong key id, in a session of a v4 record.
    Msgpack session;
    session.Array(4).Int(4).Bin("k").Array(1).SessionV2Fields().Map(1).Int(6);
    ref(session, "too short").Map(0);
    CHECK(IsCorrupt(session.bytes));
  }
  // Every truncation of a valid v4 record is corrupt.
  const std::string bytes = jeff::EncodeRecord(MakeMovedRecord());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK(IsCorrupt(bytes.substr(0, n)));
  }
}

TEST_CASE("EncodeRecord refuses move fields the reader would refuse") {
  const std::pair<const char*, std::function<void(Record&)>> cases[] = {
      {"short target", [](Record& r) { r.moved_to->kid.pop_back(); }},
      {"origin with a dot", [](Record& r) { r.sessions[1].origin->kid[3] = '.'; }},
      {"absorbed with a space", [](Record& r) { r.absorbed[0].origin_kid[0] = ' '; }},
      {"absorbed until negative", [](Record& r) { r.absorbed[1].until_ms = -1; }},
  };
  CHECK_NOTHROW((void)jeff::EncodeRecord(MakeMovedRecord()));
  for (const auto& [name, spoil] : cases) {
    CAPTURE(name);
    Record r = MakeMovedRecord();
    spoil(r);
    CHECK_THROWS_AS((void)jeff::EncodeRecord(r), std::invalid_argument);
  }
}

TEST_CASE("records round-trip") {
  for (int n : {0, 1, 2, 15, 16, 100}) {
    CAPTURE(n);
    const Record r = MakeRecord(n);
    const auto decoded = jeff::DecodeRecord(jeff::EncodeRecord(r));
    REQUIRE(decoded.ok());
    CHECK(*decoded == r);
  }
  SUBCASE("extreme values and binary data") {
    Record r;
    r.key = std::string("\0key\xff with nul", 14);
    StoredSession s = MakeSession(1);
    s.created_ms = 0;
    s.expires_ms = jeff::kMaxUnixMillis;
    s.last_seen_ms = 0;
    s.meta = std::string(70000, '\0');  // bin 32
    r.sessions.push_back(s);
    s.meta = std::string(300, 'x');  // bin 16
    s.created_ms = 70000;  // uint 32
    r.sessions.push_back(s);
    const auto decoded = jeff::DecodeRecord(jeff::EncodeRecord(r));
    REQUIRE(decoded.ok());
    CHECK(*decoded == r);
  }
  SUBCASE("a long key") {
    Record r = MakeRecord(1);
    r.key = std::string(1 << 17, 'k');
    CHECK(*jeff::DecodeRecord(jeff::EncodeRecord(r)) == r);
  }
}

TEST_CASE("VisitRecord visits in order without copying") {
  const Record r = MakeRecord(3);
  const std::string bytes = jeff::EncodeRecord(r);
  std::vector<std::int64_t> created;
  const auto key = jeff::VisitRecord(bytes, [&](const jeff::SessionView& s) {
    CHECK(s.ext.empty());  // a v1 record
    const auto i = created.size();
    REQUIRE(i < r.sessions.size());
    CHECK(std::equal(s.id.begin(), s.id.end(), r.sessions[i].id.begin()));
    CHECK(std::equal(s.token_hash.begin(), s.token_hash.end(), r.sessions[i].token_hash.begin()));
    CHECK(s.expires_ms == r.sessions[i].expires_ms);
    CHECK(s.last_seen_ms == r.sessions[i].last_seen_ms);
    CHECK(s.meta == r.sessions[i].meta);
    CHECK(s.meta.data() >= bytes.data());
    CHECK(s.meta.data() < bytes.data() + bytes.size());
    created.push_back(s.created_ms);
  });
  REQUIRE(key.ok());
  CHECK(*key == r.key);
  CHECK(key->data() > bytes.data());
  CHECK(key->data() < bytes.data() + bytes.size());
  CHECK(created == std::vector<std::int64_t>{r.sessions[0].created_ms, r.sessions[1].created_ms,
                                             r.sessions[2].created_ms});
}

TEST_CASE("VisitRecord allocates nothing") {
  Record record = MakeRecord(4);
  record.sessions[2] = MakeExtSession(2);
  const std::string bytes = jeff::EncodeRecord(record);
  const std::string corrupt = bytes.substr(0, bytes.size() - 1);
  std::int64_t sum = 0;
  const auto visit = [&sum](const jeff::SessionView& s) { sum += s.created_ms; };
  const long before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    CHECK(jeff::VisitRecord(bytes, visit).ok());
    CHECK_FALSE(jeff::VisitRecord(corrupt, visit).ok());
  }
  CHECK(g_allocations.load() == before);
  CHECK(sum != 0);
}

TEST_CASE("accepted encodings of valid values") {
  SUBCASE("integers in any msgpack integer format") {
    Msgpack m;
    m.Array(3).Raw({0xcf}).Be(1, 8).Bin("k").Array(1);
    m.Array(6).Bin(16, 'i').Bin(32, 'h').Raw({0xd0, 0x05}).Raw({0xcd, 0x01, 0x00}).Raw({0xd3}).Be(32, 8);
    m.Bin("");
    const auto r = jeff::DecodeRecord(m.bytes);
    REQUIRE(r.ok());
    CHECK(r->sessions[0].created_ms == 5);
    CHECK(r->sessions[0].expires_ms == 256);
    CHECK(r->sessions[0].last_seen_ms == 32);
  }
  SUBCASE("array 32 and bin 32 headers for small sizes") {
    Msgpack m;
    m.Raw({0xdd}).Be(3, 4).Int(1).Raw({0xc6}).Be(1, 4).Raw({'k'}).Raw({0xdc, 0, 1});
    m.Session();
    CHECK(jeff::DecodeRecord(m.bytes).ok());
  }
  SUBCASE("an empty key") {
    Msgpack m;
    m.Array(3).Int(1).Bin("").Array(0);
    const auto r = jeff::DecodeRecord(m.bytes);
    REQUIRE(r.ok());
    CHECK(r->key.empty());
    CHECK(r->sessions.empty());
  }
}

TEST_CASE("every truncation is corrupt") {
  Record v2 = MakeRecord(3);
  v2.sessions[1] = MakeExtSession(1);
  for (const std::string& bytes : {jeff::EncodeRecord(MakeRecord(3)), jeff::EncodeRecord(v2)}) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      CAPTURE(n);
      REQUIRE(IsCorrupt(std::string_view(bytes).substr(0, n)));
    }
    CHECK_FALSE(IsCorrupt(bytes));
  }
}

TEST_CASE("trailing bytes are corrupt") {
  Record v2 = MakeRecord(1);
  v2.sessions[0] = MakeExtSession(1);
  for (const std::string& bytes : {jeff::EncodeRecord(MakeRecord(1)), jeff::EncodeRecord(v2)}) {
    CHECK(IsCorrupt(bytes + '\0'));
    CHECK(IsCorrupt(bytes + '\x01'));
    CHECK(IsCorrupt(bytes + '\xc0'));
    CHECK(IsCorrupt(bytes + bytes));
  }
}

TEST_CASE("structural deviations are corrupt") {
  const auto S = [] { return Msgpack().OneSessionRecord(); };
  const std::pair<const char*, Msgpack> cases[] = {
      {"version 3", Msgpack().Array(3).Int(3).Bin("k").Array(0)},
      {"version 0", Msgpack().Array(3).Int(0).Bin("k").Array(0)},
      {"version -1", Msgpack().Array(3).Raw({0xff}).Bin("k").Array(0)},
      {"version 2^64-1", Msgpack().Array(3).Raw({0xcf}).Be(~0ULL, 8).Bin("k").Array(0)},
      {"version as str", Msgpack().Array(3).Raw({0xa1, '1'}).Bin("k").Array(0)},
      {"version as float", Msgpack().Array(3).Raw({0xca, 0x3f, 0x80, 0, 0}).Bin("k").Array(0)},
      {"version as true", Msgpack().Array(3).Raw({0xc3}).Bin("k").Array(0)},
      {"key as str", Msgpack().Array(3).Int(1).Raw({0xa1, 'k'}).Array(0)},
      {"key as nil", Msgpack().Array(3).Int(1).Raw({0xc0}).Array(0)},
      {"key as ext", Msgpack().Array(3).Int(1).Raw({0xd4, 0x01, 'k'}).Array(0)},
      {"outer of 2", Msgpack().Array(2).Int(1).Bin("k")},
      {"outer of 4", Msgpack().Array(4).Int(1).Bin("k").Array(0).Int(0)},
      {"outer empty", Msgpack().Array(0)},
      {"outer map", Msgpack().Raw({0x83}).Int(1).Bin("k").Int(2).Array(0).Int(3).Int(4)},
      {"not an array", Msgpack().Int(1)},
      {"nil", Msgpack().Raw({0xc0})},
      {"sessions as map", Msgpack().Array(3).Int(1).Bin("k").Raw({0x80})},
      {"sessions as bin", Msgpack().Array(3).Int(1).Bin("k").Bin("")},
      {"session of 5", S().Array(5).Bin(16, 'i').Bin(32, 'h').Times()},
      {"session of 7", S().Array(7).Bin(16, 'i').Bin(32, 'h').Times().Bin("").Bin("")},
      {"session empty", S().Array(0)},
      {"session as bin", S().Bin(54, 'x')},
      {"id of 15", S().Array(6).Bin(15, 'i').Bin(32, 'h').Times().Bin("")},
      {"id of 17", S().Array(6).Bin(17, 'i').Bin(32, 'h').Times().Bin("")},
      {"id as str", S().Array(6).Raw({0xb0}).Be(0, 8).Be(0, 8).Bin(32, 'h').Times().Bin("")},
      {"hash of 31", S().Array(6).Bin(16, 'i').Bin(31, 'h').Times().Bin("")},
      {"hash of 33", S().Array(6).Bin(16, 'i').Bin(33, 'h').Times().Bin("")},
      {"id and hash swapped", S().Array(6).Bin(32, 'h').Bin(16, 'i').Times().Bin("")},
      {"time as float", S().IdAndHash().Raw({0xcb}).Be(0, 8).Int(2).Int(3).Bin("")},
      {"time as nil", S().IdAndHash().Int(1).Raw({0xc0}).Int(3).Bin("")},
      {"time above int64", S().IdAndHash().Int(1).Int(2).Raw({0xcf}).Be(1ULL << 63, 8).Bin("")},
      // Review defect 4: times a TimePoint cannot hold are corrupt, not clamped.
      {"created before 1970", S().IdAndHash().Int(-1).Int(2).Int(3).Bin("")},
      {"expires at int64 min", S().IdAndHash().Int(1).Int(INT64_MIN).Int(3).Bin("")},
      {"last seen past 2262", S().IdAndHash().Int(1).Int(2).Int(jeff::kMaxUnixMillis + 1).Bin("")},
      {"expires at int64 max", S().IdAndHash().Int(1).Int(INT64_MAX).Int(3).Bin("")},
      {"time as bin", S().IdAndHash().Int(1).Int(2).Bin(8, 't').Bin("")},
      {"meta as str", S().IdAndHash().Times().Raw({0xa1, 'm'})},
      {"meta as nil", S().IdAndHash().Times().Raw({0xc0})},
      {"meta as array", S().IdAndHash().Times().Array(0)},
      {"meta as ext", S().IdAndHash().Times().Raw({0xc7, 0x00, 0x05})},
      {"fewer sessions than declared", Msgpack().Array(3).Int(1).Bin("k").Array(2).Session()},
      {"more sessions than declared", Msgpack().OneSessionRecord().Session().Session()},
      {"reserved byte 0xc1", Msgpack().Array(3).Int(1).Raw({0xc1}).Array(0)},
  };
  for (const auto& [name, m] : cases) {
    CAPTURE(name);
    CHECK(IsCorrupt(m.bytes));
  }
  // The builder itself makes valid records.
  CHECK_FALSE(IsCorrupt(Msgpack().Array(3).Int(1).Bin("k").Array(2).Session().Session("").bytes));
}

TEST_CASE("hostile sizes and nesting are rejected cleanly") {
  SUBCASE("nesting bombs") {
    CHECK(IsCorrupt(std::string(100000, '\x91')));
    CHECK(IsCorrupt(std::string(100000, '\x81')));
    std::string deep = Msgpack().OneSessionRecord().bytes;
    deep += std::string(100000, '\x91');
    CHECK(IsCorrupt(deep));
    std::string wide;
    for (int i = 0; i < 20000; ++i) wide += std::string("\xdd\xff\xff\xff\xff", 5);
    CHECK(IsCorrupt(wide));
  }
  SUBCASE("declared lengths far beyond the data") {
    CHECK(IsCorrupt(Msgpack().Array(3).Int(1).Raw({0xc6}).Be(0xffffffff, 4).Raw({'k'}).bytes));
    CHECK(IsCorrupt(Msgpack().Array(3).Int(1).Raw({0xc5}).Be(0xffff, 2).Raw({'k'}).bytes));
    CHECK(IsCorrupt(Msgpack().Array(3).Int(1).Bin("k").Array(0xffffffff).Session().bytes));
    CHECK(IsCorrupt(Msgpack().Array(3).Int(1).Bin("k").Raw({0xdc, 0xff, 0xff}).Session().bytes));
    CHECK(IsCorrupt(
        Msgpack().OneSessionRecord().IdAndHash().Times().Raw({0xc6}).Be(0xffffffff, 4).bytes));
    CHECK(IsCorrupt(Msgpack().Raw({0xdd}).Be(0xffffffff, 4).Int(1).bytes));
    CHECK(IsCorrupt(Msgpack().Array(3).Int(1).Raw({0xc9}).Be(0xffffffff, 4).Raw({0x01}).bytes));
    CHECK(IsCorrupt(Msgpack().Array(3).Int(1).Raw({0xdb}).Be(0xffffffff, 4).bytes));
    CHECK(IsCorrupt(Msgpack().Raw({0xdf}).Be(0xffffffff, 4).bytes));
  }
  SUBCASE("a session count the bytes cannot hold is refused before any visit") {
    int visits = 0;
    const auto m = Msgpack().Array(3).Int(1).Bin("k").Array(1000).Session().Session();
    const auto r = jeff::VisitRecord(m.bytes, [&](const jeff::SessionView&) { ++visits; });
    CHECK(r.error() == Errc::kStoreCorrupt);
    CHECK(visits == 0);
  }
}

TEST_CASE("a failure after some sessions is still a failure") {
  std::string bytes = Msgpack().Array(3).Int(1).Bin("k").Array(3).Session().Session().bytes;
  bytes += Msgpack().Array(6).Bin(16, 'i').Bin(31, 'h').bytes;
  bytes += std::string(200, '\0');
  int visits = 0;
  const auto r = jeff::VisitRecord(bytes, [&](const jeff::SessionView&) { ++visits; });
  CHECK(r.error() == Errc::kStoreCorrupt);
  CHECK(jeff::IsStoreError(r.error()));
  CHECK(visits == 2);
}

TEST_CASE("every single-byte change decodes cleanly or is corrupt") {
  Record v2 = MakeRecord(2);
  v2.sessions[1] = MakeExtSession(1);
  v2.sessions[1].device_key->spki.resize(8);  // keeps the record, and so the loop, short
  for (const std::string& bytes : {jeff::EncodeRecord(MakeRecord(2)), jeff::EncodeRecord(v2)}) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      for (int v = 0; v < 256; ++v) {
        std::string mutated = bytes;
        mutated[i] = static_cast<char>(v);
        const auto decoded = jeff::DecodeRecord(mutated);
        if (decoded.ok()) {
          // Whatever was accepted re-encodes to a record that decodes the same.
          REQUIRE(*jeff::DecodeRecord(jeff::EncodeRecord(*decoded)) == *decoded);
        } else {
          REQUIRE(decoded.error() == Errc::kStoreCorrupt);
        }
      }
    }
  }
}

TEST_CASE("random garbage is corrupt and never crashes") {
  std::mt19937_64 rng(20300101);
  const std::string valid = jeff::EncodeRecord(MakeRecord(2));
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 200);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      // A valid prefix followed by noise reaches the deeper states.
      bytes = valid.substr(0, rng() % valid.size());
      for (std::size_t n = rng() % 64; n > 0; --n) bytes.push_back(static_cast<char>(rng()));
    }
    const auto r = jeff::DecodeRecord(bytes);
    if (!r.ok()) REQUIRE(r.error() == Errc::kStoreCorrupt);
  }
}

// jeff's decoder and msgpack-c's generic unpacker must agree on every input:
// the same verdict, and the same values when both accept.
// Returns whether the bytes were accepted.
bool RequireAgreesWithMsgpackC(std::string_view bytes) {
  const auto ours = jeff::DecodeRecord(bytes);
  const auto oracle = jeff::test::OracleDecode(bytes);
  REQUIRE(ours.ok() == oracle.has_value());
  if (oracle) REQUIRE(*ours == *oracle);
  return ours.ok();
}

TEST_CASE("the decoder agrees with msgpack-c's unpacker") {
  std::mt19937_64 rng(20301122);
  std::vector<std::string> seeds;
  for (int n : {0, 1, 3}) seeds.push_back(jeff::EncodeRecord(MakeRecord(n)));
  // v2 seeds: every ext key, and each one alone, so that mutations reach
  // every branch of the ext reader.
  Record v2 = MakeRecord(2);
  v2.sessions[1] = MakeExtSession(1);
  v2.sessions[1].device_key->spki.resize(12);
  seeds.push_back(jeff::EncodeRecord(v2));
  for (int key = 1; key <= 5; ++key) {
    Record one = MakeRecord(1);
    const StoredSession full = MakeExtSession(3);
    StoredSession& s = one.sessions[0];
    if (key == 1) s.persistent = false;
    if (key == 2) s.authenticated_at_ms = full.authenticated_at_ms;
    if (key == 3) s.device_key = jeff::StoredDeviceKey{jeff::DeviceKeyAlg::kEs256, {0x30, 0x59}, {}};
    if (key == 4) s.challenge = full.challenge;
    if (key == 5) s.bound_cookies = {full.bound_cookies[0]};
    seeds.push_back(jeff::EncodeRecord(one));
  }
  std::size_t accepted = 0;
  for (int i = 0; i < 90000; ++i) {
    std::string bytes = seeds[rng() % seeds.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !bytes.empty(); --edits) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[at] = static_cast<char>(rng()); break;                      // replace
        case 1: bytes.insert(at, 1, static_cast<char>(rng())); break;            // insert
        case 2: bytes.erase(at, 1); break;                                       // delete
        default: bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));  // flip a bit
      }
    }
    accepted += RequireAgreesWithMsgpackC(bytes) ? 1 : 0;
  }
  // Mutations that stay valid (a changed time, id or meta byte) are common:
  // the comparison above must have seen both verdicts many times.
  CHECK(accepted > 1500);
  CHECK(accepted < 88500);
}

TEST_CASE("VisitRecord may be called again from inside a visit") {
  const std::string outer = jeff::EncodeRecord(MakeRecord(2));
  Record inner_record = MakeRecord(1);
  inner_record.key = "bob";
  const std::string inner = jeff::EncodeRecord(inner_record);
  int outer_visits = 0;
  const auto key = jeff::VisitRecord(outer, [&](const jeff::SessionView&) {
    ++outer_visits;
    const auto nested = jeff::DecodeRecord(inner);
    REQUIRE(nested.ok());
    CHECK(*nested == inner_record);
    CHECK_FALSE(jeff::DecodeRecord(inner.substr(1)).ok());
  });
  REQUIRE(key.ok());
  CHECK(*key == "alice@example.com");
  CHECK(outer_visits == 2);
  CHECK(*jeff::DecodeRecord(outer) == MakeRecord(2));
}

TEST_CASE("an exception from the visitor propagates and leaves the decoder usable") {
  const std::string bytes = jeff::EncodeRecord(MakeRecord(2));
  CHECK_THROWS_AS((void)jeff::VisitRecord(bytes, [](const jeff::SessionView&) { throw 7; }), int);
  CHECK(*jeff::DecodeRecord(bytes) == MakeRecord(2));
}

TEST_CASE("records decode concurrently") {
  const std::string bytes = jeff::EncodeRecord(MakeRecord(5));
  const Record expected = MakeRecord(5);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const auto r = jeff::DecodeRecord(bytes);
        if (!r.ok() || !(*r == expected)) ++failures;
        if (jeff::DecodeRecord(std::string_view(bytes).substr(0, 50)).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures.load() == 0);
}
