#include "compare_and_swap_script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace jeff::redis_detail {

std::string ScriptSha1(std::string_view script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(script.data(), script.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("jeff-redis: SHA-1 of the compare-and-swap script failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

}  // namespace jeff::redis_detail
