#pragma once
// A small HTTP/1.1 server on Boost.Beast coroutines: one coroutine per
// connection, keep-alive, routes by method and path. Runs on whatever
// io_context runs the acceptor (the example runs one, on one thread).

#include <jeff/http/beast.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace example::beast {

using jeff::http::beast::Request;
using jeff::http::beast::Response;

// A route that also sees the client's address ("127.0.0.1").
using AppHandler = std::function<boost::asio::awaitable<void>(const Request&, Response&,
                                                              const std::string& remote_address)>;

// Routes by (method, path without the query string).
class Router {
 public:
  // Serves `method` `path` with `handler`.
  void Add(boost::beast::http::verb method, std::string path, AppHandler handler);
  // The same, for a route that does not need the client's address.
  void Add(boost::beast::http::verb method, std::string path, jeff::http::beast::Handler handler);
  // Answers every request no route matches (default: an empty 404).
  void SetNotFound(jeff::http::beast::Handler handler);
  // Runs the route of `req` (or the not-found handler).
  boost::asio::awaitable<void> Dispatch(const Request& req, Response& res,
                                        const std::string& remote_address) const;

 private:
  std::map<std::pair<boost::beast::http::verb, std::string>, AppHandler, std::less<>> routes_;
  jeff::http::beast::Handler not_found_;
};

// The request target ("/path?query") as a std::string_view.
std::string_view TargetOf(const Request& req);

// The path of a request target, without its query string.
std::string_view PathOf(std::string_view target);

// The query string of a request target ("" without one).
std::string_view QueryOf(std::string_view target);

// Connection limits. Every wait has a bound, and running out of file
// descriptors never ends the server.
struct ServerOptions {
  // Connections served at once; further clients wait in the listen backlog
  // until one closes. 0: DefaultMaxConnections().
  std::size_t max_connections = 0;
  // A connection waiting for a request (its first, or the next one on a
  // keep-alive connection) is closed after this.
  std::chrono::seconds idle_timeout{15};
  // Once a request's first byte arrived, its header and body must arrive
  // within this, and its response must be sent within this; else the
  // connection is closed (a client trickling bytes holds it no longer).
  std::chrono::seconds request_timeout{20};
  // Largest request header (bytes); larger requests close the connection.
  std::uint32_t header_limit = 8 * 1024;
  // Largest request body accepted (bytes); larger requests close the connection.
  std::uint64_t body_limit = 64 * 1024;
  // After a failed accept (out of file descriptors, ...), wait this long
  // before accepting again.
  std::chrono::milliseconds accept_backoff{100};
};

// The default connection cap: the process's open-file limit (RLIMIT_NOFILE,
// `ulimit -n`) less min(64, half of it), kept for the loop's own
// descriptors, store connections and files. At least 1.
std::size_t DefaultMaxConnections();

// Accepts connections on `acceptor` until it is closed, each served by its
// own coroutine with keep-alive, at most `options.max_connections` at once.
// A failed accept is logged once (until one succeeds again) and retried
// after `options.accept_backoff`; it never ends the loop. `router` must
// outlive the io_context's run.
boost::asio::awaitable<void> Listen(boost::asio::ip::tcp::acceptor acceptor, const Router& router,
                                    ServerOptions options);

}  // namespace example::beast
