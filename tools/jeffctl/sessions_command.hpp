#pragma once
// `jeffctl sessions list|revoke`: the sessions of one key in the
// application's store, through jeff::Sessions.

#include "command.hpp"

namespace jeff::ctl {

CommandGroup SessionsCommands();

}  // namespace jeff::ctl
