#pragma once
// `jeffctl jwe decode|encode|inspect`: compact JWE tokens as Auth.js v5
// writes them, through jeff::JweCodec.

#include "command.hpp"

namespace jeff::ctl {

CommandGroup JweCommands();

}  // namespace jeff::ctl
