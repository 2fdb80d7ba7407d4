#pragma once
// Test support: encryption at rest (Options::at_rest) on any store, through
// either driver. RunAtRestFlow(store, base, make, dump): `make(options)`
// returns a (smart) pointer to an API with Sessions' signatures over
// `store`; `dump(store_key)` reads the stored bytes with the store's own
// raw client (GET, SELECT, ...), as a leaked dump would show them. Keys are
// unique per call.

#include "support/cookies.hpp"
#include "support/record_ext.hpp"

#include <doctest/doctest.h>
#include <jeff/detail/sealed_record.hpp>
#include <jeff/sessions.hpp>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <string_view>

namespace jeff::test {

inline AtRestKey AtRestTestKey(std::uint32_t id) {
  return AtRestKey{id, std::string(kAtRestKeyBytes, static_cast<char>('A' + id))};
}

// Neither `key` nor `meta` appears in `bytes`, which is a sealed record.
inline void CheckSealed(std::string_view bytes, std::string_view key, std::string_view meta) {
  CHECK(IsSealedRecord(bytes));
  CHECK(bytes.find(key) == std::string_view::npos);
  CHECK(bytes.find(meta) == std::string_view::npos);
  CHECK(bytes.find("@example.com") == std::string_view::npos);
}

// The ring key id a sealed record names (bytes 3..6, big-endian).
inline std::uint32_t SealedKeyId(std::string_view bytes) {
  REQUIRE(IsSealedRecord(bytes));
  REQUIRE(bytes.size() > 7);
  std::uint32_t id = 0;
  for (std::size_t i = 3; i < 7; ++i) id = (id << 8) | static_cast<unsigned char>(bytes[i]);
  return id;
}

// Check of `cookie` under `api` fails as a store error `code`: never a session.
template <typename Api>
void CheckRefused(Api& api, const std::string& cookie, Errc code) {
  const CheckResult r = api.Check(cookie);
  CHECK(r.status == CheckStatus::kStoreError);
  CHECK(r.error == code);
}

template <typename Make>
void RunAtRestFlow(Store& store, const Options& base, Make make,
                   const std::function<std::string(const std::string&)>& dump) {
  const std::string tag = std::to_string(std::random_device{}());
  const std::string key = "atrest" + tag + ".ann@example.com";
  const std::string meta = "meta" + tag + " Firefox 203.0.113.7";
  const std::string store_key = StoreKeyOf(base, key);

  Options clear = base;  // no ring: today's servers
  Options readers = base;  // rollout step 1: every server can open sealed records
  readers.at_rest.keys = {AtRestTestKey(1)};
  readers.at_rest.seal_writes = false;
  Options sealing = base;  // step 2: writers seal
  sealing.at_rest.keys = {AtRestTestKey(1)};
  Options rotated = base;  // a new key, the old one still read
  rotated.at_rest.keys = {AtRestTestKey(2), AtRestTestKey(1)};
  Options dropped = base;  // the old key gone
  dropped.at_rest.keys = {AtRestTestKey(2)};
  auto old_server = make(clear);
  auto reader = make(readers);
  auto writer = make(sealing);
  auto rotating = make(rotated);
  auto newest = make(dropped);

  // Before the rollout: a record in clear (the dump shows the key, so the
  // dumps below could see it if it were there), read by every server.
  auto first = old_server->Set(key, meta);
  REQUIRE(first.ok());
  const std::string first_cookie = CookieOf(*first);
  CHECK(dump(store_key).find(key) != std::string::npos);
  CHECK(reader->Check(first_cookie).ok());
  CHECK(writer->Check(first_cookie).ok());
  // Readers first: a server that can open sealed records still writes in clear.
  REQUIRE(reader->UpdateMeta(first_cookie, meta + "r").ok());
  CHECK(dump(store_key).find(meta + "r") != std::string::npos);

  // Writers seal: the next write seals the whole record (key, every meta).
  auto second = writer->Set(key, meta + "2");
  REQUIRE(second.ok());
  const std::string second_cookie = CookieOf(*second);
  CheckSealed(dump(store_key), key, meta);
  CHECK(SealedKeyId(dump(store_key)) == 1);
  for (auto* api : {&*reader, &*writer, &*rotating}) {
    const CheckResult r = api->Check(second_cookie);
    REQUIRE(r.ok());
    CHECK(r.session.key == key);
    CHECK(r.session.meta == meta + "2");
    CHECK(api->Check(first_cookie).session.meta == meta + "r");
  }
  // A server without the ring never reads a sealed record as a session.
  CheckRefused(*old_server, second_cookie, Errc::kRecordKeyUnknown);
  CHECK(old_server->Set(key, meta).error() == Errc::kRecordKeyUnknown);

  // Every write keeps it sealed (compare-and-swap as before).
  auto renamed = writer->UpdateMeta(second_cookie, meta + "3");
  REQUIRE(renamed.ok());
  CheckSealed(dump(store_key), key, meta);
  auto turned = writer->Rotate(second_cookie);
  REQUIRE(turned.ok());
  const std::string turned_cookie = CookieOf(*turned);
  CHECK(writer->Check(turned_cookie).session.meta == meta + "3");
  CHECK_FALSE(writer->Check(second_cookie).ok());
  auto listed = reader->SessionsForKey(key);
  REQUIRE(listed.ok());
  CHECK(listed->size() == 2);
  CheckSealed(dump(store_key), key, meta);

  // Rotation: a ring with a newer key reads records sealed with the old
  // one, and its first write seals with the newest.
  CHECK(rotating->Check(turned_cookie).ok());
  CHECK(SealedKeyId(dump(store_key)) == 1);
  REQUIRE(rotating->UpdateMeta(turned_cookie, meta + "4").ok());
  CHECK(SealedKeyId(dump(store_key)) == 2);
  CheckSealed(dump(store_key), key, meta);
  CHECK(newest->Check(turned_cookie).session.meta == meta + "4");
  CHECK(newest->Check(first_cookie).ok());
  // A server whose ring lacks the record's key: a clear error, never a grant.
  CheckRefused(*writer, turned_cookie, Errc::kRecordKeyUnknown);
  CHECK(writer->Set(key, meta).error() == Errc::kRecordKeyUnknown);
  CHECK(writer->SessionsForKey(key).error() == Errc::kRecordKeyUnknown);

  // Records cannot be swapped between keys: another key's sealed record
  // copied under this store key fails to open (the store key is the
  // associated data) instead of granting that key's sessions here.
  const std::string other = "atrest" + tag + ".bob@example.com";
  auto bob = rotating->Set(other, meta + "bob");
  REQUIRE(bob.ok());
  const std::string bob_bytes = dump(StoreKeyOf(base, other));
  CheckSealed(bob_bytes, other, meta);
  const Versioned ann = StoredValue(store, store_key);
  REQUIRE(store.CompareAndSwap(store_key, ann.version, bob_bytes, std::chrono::minutes(5)).value());
  // Bob's own token, presented under Ann's kid, would match the moved record.
  const std::string bob_value = CookieOf(*bob).substr(CookieOf(*bob).find('=') + 1);
  const std::string under_ann = base.cookie.name + "=" + KeyId(key, base.pepper) + bob_value.substr(bob_value.find('.'));
  CheckRefused(*newest, under_ann, Errc::kStoreCorrupt);
  CheckRefused(*newest, first_cookie, Errc::kStoreCorrupt);
  CHECK(newest->Check(CookieOf(*bob)).ok());  // in its own place it still opens
}

}  // namespace jeff::test
