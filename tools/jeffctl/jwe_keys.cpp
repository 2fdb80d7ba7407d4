#include "jwe_keys.hpp"

#include "command.hpp"

#include <jeff/cookie.hpp>

#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

namespace jeff::ctl {
namespace {

constexpr std::string_view kAuthJsSalt = "authjs.session-token";
constexpr std::string_view kAuthJsSecureSalt = "__Secure-authjs.session-token";

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
  const auto weak = std::count_if(options.secrets.begin(), options.secrets.end(),
                                  [](const std::string& secret) { return IsWeakJweSecret(secret); });
  if (weak > 0 && !args.Has("allow-weak-secret")) {
    throw UsageError(
        "a JWE secret is shorter than 32 bytes. Auth.js accepts any AUTH_SECRET: to read or make "
        "tokens of an app whose secret is short, pass --allow-weak-secret (it covers every "
        "--secret), and rotate that app to a secret of 32 random bytes or more");
  }
  if (weak > 0) {
    PrintError("warning: " + std::to_string(weak) + " of " + std::to_string(options.secrets.size()) +
               " secrets are shorter than 32 bytes (accepted by --allow-weak-secret); a short "
               "secret can be guessed offline from one token");
  }
  options.allow_weak_secrets = args.Has("allow-weak-secret");
  options.salt = args.Value("salt").value_or("");
  if (args.Has("salt") && options.salt.empty()) throw UsageError("--salt is empty");
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

std::string JweKeyHelp(std::string_view salt_default) {
  return "  --secret S          an Auth.js secret (AUTH_SECRET), at least 32 bytes (see below);\n"
         "                      repeatable for rotation, newest first (the first one\n"
         "                      encrypts). Default: $JEFF_SECRET, comma-separated, which\n"
         "                      keeps secrets out of shell history and the process list\n"
         "  --allow-weak-secret accept secrets shorter than 32 bytes (every --secret), as\n"
         "                      Auth.js does: for the tokens of an app whose secret is short,\n"
         "                      until it rotates to a secret of 32 random bytes or more\n"
         "  --salt NAME         the HKDF salt of the secrets: the session cookie's name\n"
         "                      (" + JeffDefaultSalt() + ": jeff's default; authjs.session-token:\n"
         "                      Auth.js's; __Secure-authjs.session-token: Auth.js's over\n"
         "                      HTTPS).\n" + std::string(salt_default) +
         "  --key-hex HEX       a raw key in hex: 64 bytes for A256CBC-HS512, 32 for A256GCM;\n"
         "                      repeatable, tried after the secrets\n"
         "  --enc ENC           A256CBC-HS512 (default; Auth.js) or A256GCM (the default when\n"
         "                      the only keys are 32-byte raw keys)\n";
}

std::string JeffDefaultSalt() { return CookieOptions{}.name; }

std::vector<std::string> DefaultDecodeSalts() {
  return {JeffDefaultSalt(), std::string(kAuthJsSalt), std::string(kAuthJsSecureSalt)};
}

}  // namespace jeff::ctl
