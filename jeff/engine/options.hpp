#pragma once
// Internal: validation of Options, shared by Sessions and AsyncSessions.

#include <jeff/sessions.hpp>

namespace jeff::engine {

// Throws std::invalid_argument("jeff::Options: <message>") unless `ok`.
void RequireOption(bool ok, const char* message);

// Applies defaults (system clock, stderr logger) and throws
// std::invalid_argument for unusable settings; logs the insecure-mode warning.
Options ValidateOptions(Options options);

}  // namespace jeff::engine
