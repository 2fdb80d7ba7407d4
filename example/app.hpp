#pragma once
// The example web app's routes on cpp-httplib: a login form, an account
// page, a session list with revoke buttons, and logout, all behind jeff.

#include "accounts.hpp"
#include "config.hpp"

#include <httplib.h>
#include <jeff/sessions.hpp>

namespace example {

// Registers every route, the 404 page and the store-error log (stderr) on
// `server`. `sessions` and `accounts` must outlive it.
void MountRoutes(httplib::Server& server, jeff::Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config);

}  // namespace example
