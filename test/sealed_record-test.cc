// The sealed record (encryption at rest): envelope, authentication, key
// ring, and what a reader of the stored bytes can learn.
#include <jeff/detail/record.hpp>
#include <jeff/detail/sealed_record.hpp>

#include <doctest/doctest.h>

#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using jeff::AtRestKey;
using jeff::AtRestOptions;
using jeff::Errc;

const std::string kStoreKey = "jeff:AAAAAAAAAAAAAAAAAAAAAA";
const std::string kEmail = "ann.secret@example.com";
const std::string kMeta = "Firefox on Ann's laptop, 203.0.113.7";

AtRestKey Key(std::uint32_t id, char fill) { return AtRestKey{id, std::string(jeff::kAtRestKeyBytes, fill)}; }

AtRestOptions Ring(std::vector<AtRestKey> keys) {
  AtRestOptions ring;
  ring.keys = std::move(keys);
  jeff::ValidateAtRest(ring);
  return ring;
}

std::string PlainRecord() {
  jeff::Record record;
  record.key = kEmail;
  jeff::StoredSession& s = record.sessions.emplace_back();
  s.id.fill(7);
  s.token_hash.fill(9);
  s.created_ms = s.last_seen_ms = 1'700'000'000'000;
  s.expires_ms = s.created_ms + 3'600'000;
  s.meta = kMeta;
  return jeff::EncodeRecord(record);
}

// The plaintext `stored` opens to under `ring` and `store_key`, or the error.
jeff::Result<std::string> Open(const AtRestOptions& ring, std::string_view stored,
                               std::string_view store_key = kStoreKey) {
  std::string plain;
  auto opened = jeff::OpenRecord(ring, store_key, stored, plain);
  if (!opened) return opened.error();
  return std::string(*opened);
}

}  // namespace

TEST_CASE("a sealed record shows neither the key nor the meta, and opens to the record") {
  const AtRestOptions ring = Ring({Key(1, 'a')});
  const std::string plain = PlainRecord();
  const std::string sealed = jeff::SealRecord(ring, kStoreKey, plain);
  CHECK(jeff::IsSealedRecord(sealed));
  CHECK_FALSE(jeff::IsSealedRecord(plain));
  CHECK(sealed.find(kEmail) == std::string::npos);
  CHECK(sealed.find("Firefox") == std::string::npos);
  CHECK(sealed.size() == plain.size() + 2 + 5 + 2 + 24 + 2 + 16);  // header, id, nonce, bin 8, tag
  auto opened = Open(ring, sealed);
  REQUIRE(opened.ok());
  CHECK(*opened == plain);
  // A fresh nonce each time: the same record never seals to the same bytes.
  CHECK(jeff::SealRecord(ring, kStoreKey, plain) != sealed);
  // The older record codec refuses a sealed record (fail closed).
  CHECK(jeff::DecodeRecord(sealed).error() == Errc::kStoreCorrupt);
}

TEST_CASE("a v4 record (a move's) seals and opens like any other, and is not taken for a sealed one") {
  const AtRestOptions ring = Ring({Key(1, 'a')});
  jeff::Record record = *jeff::DecodeRecord(PlainRecord());
  record.moved_to = jeff::StoredMoveRef{std::string(jeff::kKeyIdChars, 'T'), {}};
  const std::string plain = jeff::EncodeRecord(record);
  CHECK_FALSE(jeff::IsSealedRecord(plain));
  CHECK(Open(ring, plain).value() == plain);
  const std::string sealed = jeff::SealRecord(ring, kStoreKey, plain);
  CHECK(jeff::IsSealedRecord(sealed));
  auto opened = Open(ring, sealed);
  REQUIRE(opened.ok());
  CHECK(*jeff::DecodeRecord(*opened) == record);
}

TEST_CASE("records in clear are read as they are, and written so without keys or with seal_writes off") {
  const std::string plain = PlainRecord();
  AtRestOptions ring = Ring({Key(1, 'a')});
  CHECK(*Open(ring, plain) == plain);
  CHECK(*Open(AtRestOptions{}, plain) == plain);
  CHECK(jeff::SealRecord(AtRestOptions{}, kStoreKey, plain) == plain);
  ring.seal_writes = false;
  CHECK(jeff::SealRecord(ring, kStoreKey, plain) == plain);
}

TEST_CASE("every changed byte of a sealed record fails it as corrupt") {
  const AtRestOptions ring = Ring({Key(1, 'a')});
  const std::string sealed = jeff::SealRecord(ring, kStoreKey, PlainRecord());
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    CAPTURE(i);
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto opened = Open(ring, bad);
    if (!jeff::IsSealedRecord(bad)) {
      // Bytes 0 and 1 (array size, version): no longer sealed, so handed on
      // as they are, and the record codec refuses them.
      REQUIRE(opened.ok());
      CHECK(jeff::DecodeRecord(*opened).error() == Errc::kStoreCorrupt);
      continue;
    }
    REQUIRE_FALSE(opened.ok());
    // A changed key id names no ring key; anything else fails as corrupt.
    CHECK(opened.error() == (i >= 3 && i <= 6 ? Errc::kRecordKeyUnknown : Errc::kStoreCorrupt));
  }
  // Truncated anywhere, or with a byte more: corrupt.
  for (std::size_t n = 2; n < sealed.size(); ++n) {
    CAPTURE(n);
    CHECK(Open(ring, sealed.substr(0, n)).error() == Errc::kStoreCorrupt);
  }
  CHECK(Open(ring, sealed + "x").error() == Errc::kStoreCorrupt);
}

TEST_CASE("a sealed record opens only under its store key and with its key's bytes") {
  const AtRestOptions ring = Ring({Key(1, 'a')});
  const std::string sealed = jeff::SealRecord(ring, kStoreKey, PlainRecord());
  // Moved under another key's store key (the associated data): refused.
  CHECK(Open(ring, sealed, "jeff:BBBBBBBBBBBBBBBBBBBBBB").error() == Errc::kStoreCorrupt);
  CHECK(Open(ring, sealed, "").error() == Errc::kStoreCorrupt);
  // The same id with other key bytes: refused, never read.
  CHECK(Open(Ring({Key(1, 'b')}), sealed).error() == Errc::kStoreCorrupt);
}

TEST_CASE("rotation: the newest key seals, every ring key opens, a dropped key is a clear error") {
  const AtRestOptions old_ring = Ring({Key(1, 'a')});
  const AtRestOptions rotated = Ring({Key(2, 'b'), Key(1, 'a')});
  const AtRestOptions new_only = Ring({Key(2, 'b')});
  const std::string plain = PlainRecord();
  const std::string under_old = jeff::SealRecord(old_ring, kStoreKey, plain);
  const std::string under_new = jeff::SealRecord(rotated, kStoreKey, plain);
  CHECK(*Open(rotated, under_old) == plain);
  CHECK(*Open(rotated, under_new) == plain);
  CHECK(*Open(new_only, under_new) == plain);
  CHECK(under_new.substr(3, 4) == std::string("\0\0\0\2", 4));  // sealed with keys[0]
  CHECK(Open(new_only, under_old).error() == Errc::kRecordKeyUnknown);
  CHECK(Open(old_ring, under_new).error() == Errc::kRecordKeyUnknown);
  // Without a ring, a sealed record is never read either.
  CHECK(Open(AtRestOptions{}, under_new).error() == Errc::kRecordKeyUnknown);
}

TEST_CASE("records of every size seal and open (bin 8, 16 and 32 envelopes)") {
  const AtRestOptions ring = Ring({Key(0xfffffffe, 'z')});
  for (std::size_t n : {0u, 1u, 239u, 240u, 65'519u, 65'520u, 70'000u}) {
    CAPTURE(n);
    const std::string plain(n, 'r');
    auto opened = Open(ring, jeff::SealRecord(ring, kStoreKey, plain));
    REQUIRE(opened.ok());
    CHECK(*opened == plain);
  }
}

TEST_CASE("the key ring is validated once") {
  CHECK_NOTHROW(Ring({}));
  CHECK_THROWS_AS(Ring({AtRestKey{1, std::string(31, 'k')}}), std::invalid_argument);
  CHECK_THROWS_AS(Ring({AtRestKey{1, std::string(33, 'k')}}), std::invalid_argument);
  CHECK_THROWS_AS(Ring({Key(1, 'a'), Key(1, 'b')}), std::invalid_argument);
  CHECK_NOTHROW(Ring({Key(1, 'a'), Key(2, 'a')}));
}
