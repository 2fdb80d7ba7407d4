#include "accounts.hpp"

#include <sodium.h>

#include <stdexcept>

namespace example {
namespace {

std::string Hash(std::string_view password) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium init failed");
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("crypto_pwhash_str failed (out of memory?)");
  }
  out.resize(out.find('\0'));
  return out;
}

}  // namespace

void Accounts::Add(std::string_view email, std::string_view password) {
  if (dummy_hash_.empty()) dummy_hash_ = Hash("not a password of anyone");
  hashes_[std::string(email)] = Hash(password);
}

bool Accounts::Verify(std::string_view email, std::string_view password) const {
  auto it = hashes_.find(email);
  const std::string& hash = it != hashes_.end() ? it->second : dummy_hash_;
  if (hash.empty()) return false;
  const bool match =
      crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return match && it != hashes_.end();
}

}  // namespace example
