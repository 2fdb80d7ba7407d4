#pragma once
// The example web app's routes on Boost.Beast coroutines over
// jeff::AsyncSessions: the same pages as the cpp-httplib app (../app.cpp).

#include "server.hpp"

#include "../accounts.hpp"
#include "../config.hpp"

#include <jeff/async_sessions.hpp>

#include <boost/asio/any_io_executor.hpp>

namespace example::beast {

// Registers every route and the 404 page on `router`. Password hashes are
// checked on `hash_executor` (a thread pool: Argon2 takes tens of
// milliseconds, which the loop must not spend); everything else runs on the
// loop of `sessions`. `sessions` and `accounts` must outlive the router.
void MountRoutes(Router& router, jeff::AsyncSessions& sessions, const Accounts& accounts,
                 const AppConfig& config, boost::asio::any_io_executor hash_executor);

}  // namespace example::beast
