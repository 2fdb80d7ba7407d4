// libFuzzer target: the msgpack record decoder. Any bytes must decode or be
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
  auto key = jeff::VisitRecord(bytes, [&](const jeff::SessionView& s) {
    ++visited;
    if (s.meta.data() < bytes.data() || s.meta.data() + s.meta.size() > bytes.data() + bytes.size()) {
      std::abort();
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
