#pragma once
// Reading and planting the ext entries (record format v2) of stored
// sessions, to check that every write carries them through unchanged.

#include <jeff/detail/record.hpp>
#include <jeff/sessions.hpp>
#include <jeff/store.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace jeff::test {

// The store key of `key`'s record under `options`.
inline std::string StoreKeyOf(const Options& options, std::string_view key) {
  return options.key_prefix + KeyId(key, options.pepper);
}

// The value under `store_key` (which must be there).
inline Versioned StoredValue(Store& store, std::string_view store_key) {
  auto fetched = store.Fetch(store_key);
  REQUIRE(fetched.ok());
  REQUIRE(fetched->has_value());
  return std::move(**fetched);
}

// The record under `store_key`, decoded (which must succeed).
inline Record StoredRecord(Store& store, std::string_view store_key) {
  auto record = DecodeRecord(StoredValue(store, store_key).value);
  REQUIRE(record.ok());
  return std::move(*record);
}

// The stored session `id` under `store_key` (which must be there).
inline StoredSession StoredOf(Store& store, std::string_view store_key, const SessionId& id) {
  const Record record = StoredRecord(store, store_key);
  const auto it = std::find_if(record.sessions.begin(), record.sessions.end(),
                               [&](const StoredSession& s) { return s.id == id; });
  REQUIRE(it != record.sessions.end());
  return *it;
}

// The format version byte of the record under `store_key` (1 or 2).
inline int StoredFormat(Store& store, std::string_view store_key) {
  const std::string value = StoredValue(store, store_key).value;
  REQUIRE(value.size() > 1);
  return static_cast<unsigned char>(value[1]);
}

// Edits the stored session `id` under `store_key` in one compare-and-swap
// (which must win), keeping the record's TTL long.
inline void EditStored(Store& store, std::string_view store_key, const SessionId& id,
                       const std::function<void(StoredSession&)>& edit) {
  const Versioned stored = StoredValue(store, store_key);
  auto record = DecodeRecord(stored.value);
  REQUIRE(record.ok());
  bool found = false;
  for (StoredSession& s : record->sessions) {
    if (s.id == id) {
      edit(s);
      found = true;
    }
  }
  REQUIRE(found);
  auto swapped = store.CompareAndSwap(store_key, stored.version, EncodeRecord(*record),
                                      std::chrono::hours(24 * 30));
  REQUIRE(swapped.ok());
  REQUIRE(*swapped);
}

// Gives `s` recognisable values for ext keys 2..5 (key 1 is the login's own).
inline void PlantDbscExt(StoredSession& s) {
  s.authenticated_at_ms = s.created_ms + 1234;
  s.device_key = StoredDeviceKey{DeviceKeyAlg::kEs256, std::vector<std::uint8_t>(91, 0x30), {}};
  s.device_key->thumbprint.fill(0x7a);
  s.challenge = StoredChallenge{std::vector<std::uint8_t>(32, 0x6e), s.created_ms + 60000};
  s.bound_cookies.resize(2);
  s.bound_cookies[0].token_hash.fill(0xb0);
  s.bound_cookies[0].expires_ms = s.created_ms + 600000;
  s.bound_cookies[1].token_hash.fill(0xb1);
  s.bound_cookies[1].expires_ms = s.created_ms + 300000;
}

// The ext entries of `s`, all else cleared, for comparing before and after a write.
inline StoredSession ExtOf(const StoredSession& s) {
  StoredSession ext;
  ext.persistent = s.persistent;
  ext.authenticated_at_ms = s.authenticated_at_ms;
  ext.device_key = s.device_key;
  ext.challenge = s.challenge;
  ext.bound_cookies = s.bound_cookies;
  return ext;
}

}  // namespace jeff::test
