#pragma once
// jeffctl: the application's at-rest key ring (Options::at_rest), from the
// environment only (keys never on a command line, where `ps` shows them).

#include <jeff/at_rest.hpp>

#include <string_view>
#include <vector>

namespace jeff::ctl {

/// Help text for the variable.
inline constexpr std::string_view kAtRestKeysHelp =
    "JEFF_AT_REST_KEYS: the application's Options::at_rest key ring, newest first, as\n"
    "ID:KEY[,ID:KEY...] with KEY the 32 bytes in base64url (no padding); needed to read\n"
    "records the application stores encrypted. jeffctl's own writes (revoke) are in clear\n"
    "(every server reads those) until the application writes the record again.\n";

/// The ring `text` describes (ID:KEY,...; empty: none). Throws UsageError
/// for a malformed entry, a key that is not 32 bytes, or a repeated id.
std::vector<AtRestKey> ParseAtRestKeys(std::string_view text);

}  // namespace jeff::ctl
