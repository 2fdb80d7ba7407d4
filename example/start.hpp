#pragma once
// Start-up of the servers over a synchronous jeff::Sessions (cpp-httplib and
// POCO): one place for what both do before they listen.

#include "config.hpp"

#include <jeff/sessions.hpp>

#include <string_view>

namespace example {

// The session manager the flags describe (the store opened from --store, or
// stateless), its store read once: a store that cannot be read, or refuses,
// is a warning on stderr (not fatal: it may come up later, and it is the
// first thing to know when every page answers 503). Throws what
// jeff::OpenStore and the Sessions constructor throw for bad flags.
jeff::Sessions StartSessions(const Flags& flags, std::string_view program);

}  // namespace example
