#pragma once
// The example web app's routes on POCO (Poco::Net::HTTPServer, synchronous
// jeff::Sessions on the server's threads): the same pages as the cpp-httplib
// and Beast apps, from ../pages.hpp.

#include "../accounts.hpp"
#include "../config.hpp"

#include <jeff/http/poco.hpp>
#include <jeff/sessions.hpp>

namespace example::poco {

// Registers every route, the 404 page and the store-error log (stderr) on
// `router`. `sessions` and `accounts` must outlive the server.
void MountRoutes(jeff::http::poco::Router& router, jeff::Sessions& sessions,
                 const Accounts& accounts, const AppConfig& config);

}  // namespace example::poco
