#include <jeff/detail/sealed_record.hpp>

#include <jeff/token.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace jeff {
namespace {

static_assert(kAtRestKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;  // 24
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;       // 16

// The envelope is written in one canonical msgpack form, and read only in
// that form: fixarray 4, fixint 3, uint 32 key id, bin 8 nonce, then the
// sealed bytes as bin 8, 16 or 32.
constexpr std::uint8_t kFixArray4 = 0x94;
constexpr std::uint8_t kUint32 = 0xce;
constexpr std::uint8_t kBin8 = 0xc4;
constexpr std::uint8_t kBin16 = 0xc5;
constexpr std::uint8_t kBin32 = 0xc6;
constexpr std::size_t kHeaderBytes = 1 + 1 + 5 + 2 + kNonceBytes;  // up to the sealed bin

const std::uint8_t* Bytes(std::string_view s) noexcept { return reinterpret_cast<const std::uint8_t*>(s.data()); }

std::uint32_t LoadBig(const std::uint8_t* p, std::size_t n) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void AppendBig(std::string& out, std::uint32_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

const AtRestKey* FindKey(const AtRestOptions& at_rest, std::uint32_t id) noexcept {
  for (const AtRestKey& key : at_rest.keys) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

}  // namespace

void ValidateAtRest(const AtRestOptions& at_rest) {
  for (std::size_t i = 0; i < at_rest.keys.size(); ++i) {
    if (at_rest.keys[i].key.size() != kAtRestKeyBytes) {
      throw std::invalid_argument("jeff::Options: at_rest.keys must be 32 bytes each");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (at_rest.keys[j].id == at_rest.keys[i].id) {
        throw std::invalid_argument("jeff::Options: at_rest.keys ids must be unique");
      }
    }
  }
  if (!at_rest.keys.empty() && sodium_init() < 0) throw std::runtime_error("jeff: libsodium failed to initialise");
}

Result<std::string_view> OpenSealedRecord(const AtRestOptions& at_rest, std::string_view store_key,
                                          std::string_view stored, std::string& plain) {
  if (!IsSealedRecord(stored)) return stored;
  const std::uint8_t* at = Bytes(stored);
  const std::uint8_t* end = at + stored.size();
  if (stored.size() < kHeaderBytes + 1 || at[2] != kUint32 || at[7] != kBin8 || at[8] != kNonceBytes) {
    return Errc::kStoreCorrupt;
  }
  const std::uint32_t id = LoadBig(at + 3, 4);
  const std::uint8_t* nonce = at + 9;
  at += kHeaderBytes;
  const std::uint8_t type = *at++;
  const std::size_t width = type == kBin8 ? 1 : type == kBin16 ? 2 : type == kBin32 ? 4 : 0;
  if (width == 0 || static_cast<std::size_t>(end - at) < width) return Errc::kStoreCorrupt;
  const std::size_t sealed = LoadBig(at, width);
  at += width;
  if (sealed < kTagBytes || static_cast<std::size_t>(end - at) != sealed) return Errc::kStoreCorrupt;
  const AtRestKey* key = FindKey(at_rest, id);
  if (key == nullptr) return Errc::kRecordKeyUnknown;
  plain.resize(sealed - kTagBytes);
  unsigned long long plain_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &plain_size,
                                                 nullptr, at, sealed, Bytes(store_key), store_key.size(),
                                                 nonce, Bytes(key->key)) != 0) {
    return Errc::kStoreCorrupt;
  }
  return std::string_view(plain.data(), plain_size);
}

std::string SealRecord(const AtRestOptions& at_rest, std::string_view store_key, std::string record) {
  if (at_rest.keys.empty() || !at_rest.seal_writes) return record;
  const AtRestKey& key = at_rest.keys.front();
  const std::size_t sealed = record.size() + kTagBytes;
  std::array<std::uint8_t, kNonceBytes> nonce{};
  RandomBytes(nonce);
  std::string out;
  out.reserve(kHeaderBytes + 5 + sealed);
  out.push_back(static_cast<char>(kFixArray4));
  out.push_back(static_cast<char>(kRecordFormatSealed));
  out.push_back(static_cast<char>(kUint32));
  AppendBig(out, key.id, 4);
  out.push_back(static_cast<char>(kBin8));
  out.push_back(static_cast<char>(kNonceBytes));
  out.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  if (sealed <= 0xff) {
    out.push_back(static_cast<char>(kBin8));
    AppendBig(out, static_cast<std::uint32_t>(sealed), 1);
  } else if (sealed <= 0xffff) {
    out.push_back(static_cast<char>(kBin16));
    AppendBig(out, static_cast<std::uint32_t>(sealed), 2);
  } else {
    if (sealed > 0xffffffffu) throw std::length_error("jeff::SealRecord: record exceeds 4 GiB");
    out.push_back(static_cast<char>(kBin32));
    AppendBig(out, static_cast<std::uint32_t>(sealed), 4);
  }
  const std::size_t body = out.size();
  out.resize(body + sealed);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.data() + body), &written,
                                             Bytes(record), record.size(), Bytes(store_key), store_key.size(),
                                             nullptr, nonce.data(), Bytes(key.key));
  sodium_memzero(record.data(), record.size());
  return out;
}

}  // namespace jeff
