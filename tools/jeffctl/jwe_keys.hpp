#pragma once
// The key options shared by `jeffctl jwe decode` and `jwe encode`: Auth.js
// secrets (--secret, or $JEFF_SECRET), their salt, raw keys, and `enc`.

#include "args.hpp"

#include <jeff/jwe.hpp>

#include <string_view>

namespace jeff::ctl {

// The flags read by JweOptionsFromArgs.
inline constexpr Flag kJweKeyFlags[] = {
    {"secret", true, true},
    {"salt", true, false},
    {"key-hex", true, true},
    {"enc", true, false},
};

// --help text of kJweKeyFlags.
inline constexpr std::string_view kJweKeyHelp =
    "  --secret S          an Auth.js secret (AUTH_SECRET), at least 32 bytes; repeatable\n"
    "                      for rotation, newest first (the first one encrypts). Default:\n"
    "                      $JEFF_SECRET, comma-separated, which keeps secrets out of\n"
    "                      shell history and the process list\n"
    "  --salt NAME         the HKDF salt of the secrets: Auth.js uses the session cookie's\n"
    "                      name (default authjs.session-token; over HTTPS Auth.js uses\n"
    "                      __Secure-authjs.session-token)\n"
    "  --key-hex HEX       a raw key in hex: 64 bytes for A256CBC-HS512, 32 for A256GCM;\n"
    "                      repeatable, tried after the secrets\n"
    "  --enc ENC           A256CBC-HS512 (default; Auth.js) or A256GCM (the default when\n"
    "                      the only keys are 32-byte raw keys)\n";

// JweCodec options from the key flags. `enc_only`: refuse tokens of another
// `enc` than --enc when that flag is given. Throws UsageError when no key
// is given or a flag's value is malformed.
JweOptions JweOptionsFromArgs(const Args& args, bool enc_only);

}  // namespace jeff::ctl
