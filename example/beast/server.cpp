#include "server.hpp"

#include "../pages.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <exception>

namespace example::beast {

namespace http = boost::beast::http;
using boost::asio::use_awaitable;

void Router::Add(http::verb method, std::string path, AppHandler handler) {
  routes_[{method, std::move(path)}] = std::move(handler);
}

void Router::Add(http::verb method, std::string path, jeff::http::beast::Handler handler) {
  Add(method, std::move(path),
      AppHandler([handler = std::move(handler)](const Request& req, Response& res,
                                                 const std::string&) { return handler(req, res); }));
}

void Router::SetNotFound(jeff::http::beast::Handler handler) { not_found_ = std::move(handler); }

boost::asio::awaitable<void> Router::Dispatch(const Request& req, Response& res,
                                              const std::string& remote_address) const {
  const auto route = routes_.find(std::make_pair(req.method(), std::string(PathOf(TargetOf(req)))));
  if (route != routes_.end()) {
    co_await route->second(req, res, remote_address);
  } else if (not_found_) {
    res.result(http::status::not_found);
    co_await not_found_(req, res);
  } else {
    res.result(http::status::not_found);
  }
}

std::string_view TargetOf(const Request& req) {
  return {req.target().data(), req.target().size()};
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

std::string_view QueryOf(std::string_view target) {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

namespace {

// One connection: requests in turn until the client closes, asks to close,
// idles out or sends something unparsable.
boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket, const Router& router,
                                   ServerOptions options) {
  boost::system::error_code ec;
  const std::string remote = socket.remote_endpoint(ec).address().to_string();
  boost::beast::tcp_stream stream(std::move(socket));
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.body_limit);
    stream.expires_after(options.idle_timeout);
    co_await http::async_read(stream, buffer, parser, boost::asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    const Request req = parser.release();
    Response res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    try {
      co_await router.Dispatch(req, res, remote);
    } catch (const std::exception& e) {
      Log(std::string("internal error on ") + std::string(req.method_string()) + " " +
          std::string(req.target()) + ": " + e.what());
      res = Response{http::status::internal_server_error, req.version()};
      res.keep_alive(false);
    }
    res.prepare_payload();
    stream.expires_after(options.idle_timeout);
    co_await http::async_write(stream, res, boost::asio::redirect_error(use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace

boost::asio::awaitable<void> Listen(boost::asio::ip::tcp::acceptor acceptor, const Router& router,
                                    ServerOptions options) {
  for (;;) {
    boost::asio::ip::tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    // Without it every keep-alive response waits for the client's delayed ACK.
    socket.set_option(boost::asio::ip::tcp::no_delay(true));
    boost::asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket), router, options),
                          boost::asio::detached);
  }
}

}  // namespace example::beast
