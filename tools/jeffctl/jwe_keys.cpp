#include "jwe_keys.hpp"

#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

namespace jeff::ctl {
namespace {

constexpr std::string_view kDefaultSalt = "authjs.session-token";

std::vector<std::string> SplitSecrets(std::string_view list) {
  std::vector<std::string> secrets;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view secret = list.substr(0, comma);
    if (!secret.empty()) secrets.emplace_back(secret);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return secrets;
}

std::string KeyFromHex(std::string_view hex) {
  std::string key(hex.size() / 2, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  const bool decoded =
      sodium_hex2bin(reinterpret_cast<unsigned char*>(key.data()), key.size(), hex.data(), hex.size(),
                     nullptr, &length, &end) == 0 &&
      end == hex.data() + hex.size();
  if (!decoded || (length != 32 && length != 64)) {
    throw UsageError("--key-hex needs 64 or 128 hex digits (a 32- or 64-byte key)");
  }
  key.resize(length);
  return key;
}

JweEnc ParseEnc(std::string_view text) {
  for (const JweEnc enc : {JweEnc::kA256CbcHs512, JweEnc::kA256Gcm}) {
    if (text == ToString(enc)) return enc;
  }
  throw UsageError("--enc must be A256CBC-HS512 or A256GCM, not " + std::string(text));
}

}  // namespace

JweOptions JweOptionsFromArgs(const Args& args, bool enc_only) {
  JweOptions options;
  options.secrets = args.Has("secret") ? args.Values("secret")
                                       : SplitSecrets(Env("JEFF_SECRET").value_or(""));
  for (const std::string& hex : args.Values("key-hex")) options.keys.push_back(KeyFromHex(hex));
  if (options.secrets.empty() && options.keys.empty()) {
    throw UsageError("no key: pass --secret or --key-hex, or set JEFF_SECRET");
  }
  options.salt = args.Value("salt").value_or(std::string(kDefaultSalt));
  if (auto enc = args.Value("enc")) {
    options.enc = ParseEnc(*enc);
    options.accept_other_enc = !enc_only;
  } else if (options.secrets.empty() &&
             std::all_of(options.keys.begin(), options.keys.end(),
                         [](const std::string& key) { return key.size() == 32; })) {
    options.enc = JweEnc::kA256Gcm;
  }
  return options;
}

}  // namespace jeff::ctl
