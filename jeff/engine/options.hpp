#pragma once
// Internal: validation of Options, shared by Sessions and AsyncSessions.

#include <jeff/sessions.hpp>

namespace jeff::engine {

// Throws std::invalid_argument("jeff::Options: <message>") unless `ok`.
void RequireOption(bool ok, const char* message);

// For the stateless strategy: throws when device_binding is enabled (the
// device key lives in the session record).
void RequireNoDeviceBinding(const Options& options);

// Applies defaults (system clock, stderr logger) and throws
// std::invalid_argument for unusable settings; logs the insecure-mode warning.
Options ValidateOptions(Options options);

}  // namespace jeff::engine
