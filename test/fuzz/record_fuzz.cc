// libFuzzer target: the msgpack record decoder (formats v1 and v2). Any bytes must decode or be
// kStoreCorrupt; what decodes must re-encode to the same bytes, and the
// visitor and the owning decoder must agree, and so must msgpack-c's generic
// unpacker (an independent implementation of the same format).
#include <jeff/detail/record.hpp>

#include "../support/msgpack_oracle.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t visited = 0;
  // Every view a SessionView hands out lies inside the input.
  const auto inside = [&](const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    if (p < bytes.data() || p + n > bytes.data() + bytes.size()) std::abort();
  };
  auto key = jeff::VisitRecord(bytes, [&](const jeff::SessionView& s) {
    ++visited;
    inside(s.meta.data(), s.meta.size());
    if (s.device_key) {
      inside(s.device_key->spki.data(), s.device_key->spki.size());
      inside(s.device_key->thumbprint.data(), s.device_key->thumbprint.size());
    }
    if (s.challenge) inside(s.challenge->nonce.data(), s.challenge->nonce.size());
    for (const jeff::BoundCookieView& cookie : s.bound_cookies()) {
      inside(cookie.token_hash.data(), cookie.token_hash.size());
    }
  });
  auto record = jeff::DecodeRecord(bytes);
  if (key.ok() != record.ok()) std::abort();
  const auto oracle = jeff::test::OracleDecode(bytes);
  if (record.ok() != oracle.has_value() || (oracle && !(*record == *oracle))) std::abort();
  if (!record) {
    if (record.error() != jeff::Errc::kStoreCorrupt) std::abort();
    return 0;
  }
  if (*key != record->key || visited != record->sessions.size()) std::abort();
  // msgpack allows several encodings of one value; re-encoding must at least
  // give a record that decodes to the same thing.
  auto again = jeff::DecodeRecord(jeff::EncodeRecord(*record));
  if (!again || !(*again == *record)) std::abort();
  return 0;
}
