#pragma once
// The key options shared by `jeffctl jwe decode` and `jwe encode`: Auth.js
// secrets (--secret, or $JEFF_SECRET), the opt-in for short ones, their
// salt, raw keys, and `enc`.

#include "args.hpp"

#include <jeff/jwe.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace jeff::ctl {

// The flags read by JweOptionsFromArgs.
inline constexpr Flag kJweKeyFlags[] = {
    {"secret", true, true},
    {"allow-weak-secret", false, false},
    {"salt", true, false},
    {"key-hex", true, true},
    {"enc", true, false},
};

// --help text of kJweKeyFlags; `salt_default` describes what the command
// does without --salt (lines indented by 22 spaces, ending in "\n").
std::string JweKeyHelp(std::string_view salt_default);

// JweCodec options from the key flags; `salt` is --salt, or empty when it
// is not given (the command picks its default). `enc_only`: refuse tokens
// of another `enc` than --enc when that flag is given. Throws UsageError
// when no key is given, a secret is shorter than 32 bytes without
// --allow-weak-secret (the message names it), or a flag's value is
// malformed; warns on stderr when it accepts a short secret.
JweOptions JweOptionsFromArgs(const Args& args, bool enc_only);

// jeff's own default cookie name (CookieOptions::name), the salt of the
// tokens an app made with jeff's defaults.
std::string JeffDefaultSalt();

// The salts `jwe decode` tries without --salt, in order: jeff's default
// cookie name, then Auth.js's over HTTP and over HTTPS.
std::vector<std::string> DefaultDecodeSalts();

}  // namespace jeff::ctl
