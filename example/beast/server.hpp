#pragma once
// A small HTTP/1.1 server on Boost.Beast coroutines: one coroutine per
// connection, keep-alive, routes by method and path. Runs on whatever
// io_context runs the acceptor (the example runs one, on one thread).

#include <jeff/http/beast.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
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

// Connection limits.
struct ServerOptions {
  // A connection that sends nothing (or reads nothing) this long is closed.
  std::chrono::seconds idle_timeout{30};
  // Largest request body accepted (bytes); larger requests close the connection.
  std::uint64_t body_limit = 64 * 1024;
};

// Accepts connections on `acceptor` for ever, each served by its own
// coroutine with keep-alive. `router` must outlive the io_context's run.
boost::asio::awaitable<void> Listen(boost::asio::ip::tcp::acceptor acceptor, const Router& router,
                                    ServerOptions options);

}  // namespace example::beast
