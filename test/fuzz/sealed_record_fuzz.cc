// libFuzzer target: the sealed record envelope (encryption at rest, format
// 3). Any bytes read as a stored record go through OpenRecord and then the
// record codec, as the engine reads them, with a fixed key ring: they are
// handed on untouched (not sealed), opened, or refused as kStoreCorrupt or
// kRecordKeyUnknown, and never crash. A record that opens fails again with
// any one byte changed. The same bytes as a plaintext, sealed here, must
// open to themselves, and only under their store key and ring key.
#include <jeff/detail/record.hpp>
#include <jeff/detail/sealed_record.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const std::string kStoreKey = "jeff:AAAAAAAAAAAAAAAAAAAAAA";

jeff::AtRestOptions Ring(std::initializer_list<std::pair<std::uint32_t, char>> keys) {
  jeff::AtRestOptions ring;
  for (const auto& [id, fill] : keys) ring.keys.push_back({id, std::string(jeff::kAtRestKeyBytes, fill)});
  jeff::ValidateAtRest(ring);
  return ring;
}

// Newest first: key 2 seals, keys 2 and 1 open (the seed corpus has
// records sealed with either, and one with an id not in the ring).
const jeff::AtRestOptions& FuzzRing() {
  static const jeff::AtRestOptions ring = Ring({{2, 'b'}, {1, 'a'}});
  return ring;
}

// The ring after key 2 was dropped.
const jeff::AtRestOptions& OldRing() {
  static const jeff::AtRestOptions ring = Ring({{1, 'a'}});
  return ring;
}

std::uint32_t KeyId(std::string_view sealed) {
  std::uint32_t id = 0;
  for (std::size_t i = 3; i < 7; ++i) id = (id << 8) | static_cast<std::uint8_t>(sealed[i]);
  return id;
}

// The engine's read of stored bytes: open, then decode; the visitor and the
// owning decoder must agree on what they accept.
void Decode(std::string_view record) {
  std::size_t visited = 0;
  auto key = jeff::VisitRecord(record, [&](const jeff::SessionView&) { ++visited; });
  auto decoded = jeff::DecodeRecord(record);
  if (key.ok() != decoded.ok()) std::abort();
  if (!decoded) {
    if (decoded.error() != jeff::Errc::kStoreCorrupt) std::abort();
    return;
  }
  if (*key != decoded->key || visited != decoded->sessions.size()) std::abort();
}

void AsStored(std::string_view stored, std::string& plain) {
  const auto opened = jeff::OpenRecord(FuzzRing(), kStoreKey, stored, plain);
  if (!jeff::IsSealedRecord(stored)) {
    // Records in clear are read where they are.
    if (!opened || opened->data() != stored.data() || opened->size() != stored.size()) std::abort();
    Decode(*opened);
    return;
  }
  if (!opened) {
    if (opened.error() == jeff::Errc::kRecordKeyUnknown) {
      // Only for a well-formed header naming a key the ring lacks.
      if (stored.size() < 7 || FuzzRing().keys[0].id == KeyId(stored) || FuzzRing().keys[1].id == KeyId(stored)) {
        std::abort();
      }
    } else if (opened.error() != jeff::Errc::kStoreCorrupt) {
      std::abort();
    }
    return;
  }
  // Opened: the plaintext lies in `plain`, tag stripped.
  if (opened->data() != plain.data() || opened->size() + 16 > stored.size()) std::abort();
  Decode(*opened);
  // Authenticated: no byte after the envelope's first two can change and
  // still open (those two would make it a record in clear).
  const std::size_t at = 2 + static_cast<std::uint8_t>(stored.back()) % (stored.size() - 2);
  std::string changed(stored);
  changed[at] = static_cast<char>(changed[at] ^ (1 + static_cast<std::uint8_t>(stored[stored.size() / 2]) % 255));
  std::string scratch;
  if (jeff::OpenRecord(FuzzRing(), kStoreKey, changed, scratch).ok()) std::abort();
  if (jeff::OpenRecord(FuzzRing(), kStoreKey, std::string(stored) + '\0', scratch).ok()) std::abort();
}

void RoundTrip(std::string_view plaintext, std::string& plain) {
  const std::string sealed = jeff::SealRecord(FuzzRing(), kStoreKey, std::string(plaintext));
  if (!jeff::IsSealedRecord(sealed) || KeyId(sealed) != 2) std::abort();
  // 2 + 5 + 2 + 24 header bytes, a bin 8/16/32 header, the 16-byte tag.
  const std::size_t bin = plaintext.size() + 16 <= 0xff ? 2 : plaintext.size() + 16 <= 0xffff ? 3 : 5;
  if (sealed.size() != 33 + bin + plaintext.size() + 16) std::abort();
  if (plaintext.size() >= 16 && sealed.find(plaintext) != std::string::npos) std::abort();
  const auto opened = jeff::OpenRecord(FuzzRing(), kStoreKey, sealed, plain);
  if (!opened || *opened != plaintext) std::abort();
  std::string scratch;
  // Moved under another store key, or read after its key left the ring.
  const auto moved = jeff::OpenRecord(FuzzRing(), "jeff:BBBBBBBBBBBBBBBBBBBBBB", sealed, scratch);
  if (moved.ok() || moved.error() != jeff::Errc::kStoreCorrupt) std::abort();
  const auto dropped = jeff::OpenRecord(OldRing(), kStoreKey, sealed, scratch);
  if (dropped.ok() || dropped.error() != jeff::Errc::kRecordKeyUnknown) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Reused across inputs, as an operation reuses its plaintext buffer.
  static std::string plain;
  AsStored(input, plain);
  RoundTrip(input, plain);
  return 0;
}
