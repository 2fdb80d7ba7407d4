#pragma once
// Demo accounts of the example app, kept only as libsodium crypto_pwhash_str
// hashes (Argon2id): the plain passwords are dropped after start-up.

#include <map>
#include <string>
#include <string_view>

namespace example {

class Accounts {
 public:
  // Hashes `password` (slow on purpose) and remembers it for `email`.
  // Throws std::runtime_error when libsodium cannot hash (out of memory).
  void Add(std::string_view email, std::string_view password);
  // True when `email` exists and `password` matches; same work either way.
  bool Verify(std::string_view email, std::string_view password) const;
  bool empty() const { return hashes_.empty(); }

 private:
  std::map<std::string, std::string, std::less<>> hashes_;
  std::string dummy_hash_;  // verified against for unknown emails (timing)
};

}  // namespace example
