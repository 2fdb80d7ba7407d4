#pragma once
// The example web app's routes: a login form, an account page, a session
// list with revoke buttons, and logout, all behind jeff.

#include "accounts.hpp"

#include <httplib.h>
#include <jeff/sessions.hpp>

#include <string>
#include <vector>

namespace example {

struct AppConfig {
  // Origins allowed to POST (CSRF check on every state change).
  std::vector<std::string> allowed_origins;
};

// Registers every route on `server`. `sessions` and `accounts` must outlive it.
void MountRoutes(httplib::Server& server, jeff::Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config);

}  // namespace example
