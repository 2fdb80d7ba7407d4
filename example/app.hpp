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
  // The session cookie is Secure while the app serves plain HTTP: warn once
  // when a client other than this machine logs in (its browser drops the
  // cookie), naming --insecure.
  bool warn_secure_over_http = false;
};

// The warning for a Secure session cookie served over plain HTTP to another
// machine (its browser drops the cookie): names HTTPS and --insecure.
std::string SecureCookieOverHttpWarning();

// Registers every route, the 404 page and the store-error log (stderr) on
// `server`. `sessions` and `accounts` must outlive it.
void MountRoutes(httplib::Server& server, jeff::Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config);

}  // namespace example
