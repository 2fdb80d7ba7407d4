#include "server.hpp"

#include "../pages.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <exception>
#include <memory>

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

std::size_t DefaultMaxConnections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    limit.rlim_cur = 1024;  // the usual soft limit
  }
  const auto files = static_cast<std::size_t>(limit.rlim_cur);
  const std::size_t reserved = std::min<std::size_t>(64, files / 2);
  return std::max<std::size_t>(1, files - reserved);
}

namespace {

// The connections open, and a timer the accept loop waits on while they are
// at the cap: each closing connection cancels it.
struct Connections {
  explicit Connections(const boost::asio::any_io_executor& executor)
      : closed(executor, boost::asio::steady_timer::time_point::max()) {}
  std::size_t open = 0;
  boost::asio::steady_timer closed;
};

// One open connection's place in the count, given back when its coroutine
// ends (however it ends).
class Slot {
 public:
  explicit Slot(std::shared_ptr<Connections> connections) : connections_(std::move(connections)) {
    ++connections_->open;
  }
  Slot(Slot&& other) noexcept = default;
  Slot& operator=(Slot&&) = delete;
  ~Slot() {
    if (!connections_) return;
    --connections_->open;
    connections_->closed.cancel();
  }

 private:
  std::shared_ptr<Connections> connections_;
};

// One connection: requests in turn until the client closes, asks to close,
// idles out, runs out of time or sends something unparsable or too large.
boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket, const Router& router,
                                   ServerOptions options, Slot) {
  boost::system::error_code ec;
  const std::string remote = socket.remote_endpoint(ec).address().to_string();
  boost::beast::tcp_stream stream(std::move(socket));
  boost::beast::flat_buffer buffer;
  try {
    for (;;) {
      if (buffer.size() == 0) {
        // Idle until the next request's first byte (read, not waited for:
        // a wait would not see the peer's close without reading either).
        stream.expires_after(options.idle_timeout);
        const std::size_t n = co_await stream.async_read_some(
            buffer.prepare(1024), boost::asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        buffer.commit(n);
      }
      http::request_parser<http::string_body> parser;
      parser.header_limit(options.header_limit);
      parser.body_limit(options.body_limit);
      stream.expires_after(options.request_timeout);
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
      stream.expires_after(options.request_timeout);
      co_await http::async_write(stream, res, boost::asio::redirect_error(use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
  } catch (const std::exception& e) {
    // Nothing may end the loop: this connection closes, the others go on.
    Log(std::string("connection from ") + remote + " closed: " + e.what());
  }
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace

boost::asio::awaitable<void> Listen(boost::asio::ip::tcp::acceptor acceptor, const Router& router,
                                    ServerOptions options) {
  const auto executor = co_await boost::asio::this_coro::executor;
  const std::size_t max_connections =
      options.max_connections != 0 ? options.max_connections : DefaultMaxConnections();
  const auto connections = std::make_shared<Connections>(executor);
  boost::asio::steady_timer backoff(executor);
  bool full = false;     // said that the cap was reached
  bool failing = false;  // said that accept fails
  boost::system::error_code ec;
  while (acceptor.is_open()) {
    if (connections->open >= max_connections) {
      if (!full) {
        Log(std::to_string(connections->open) + " connections open (--max-connections " +
            std::to_string(max_connections) + "): new ones wait until one closes");
        full = true;
      }
      connections->closed.expires_at(boost::asio::steady_timer::time_point::max());
      co_await connections->closed.async_wait(boost::asio::redirect_error(use_awaitable, ec));
      continue;
    }
    full = false;
    boost::asio::ip::tcp::socket socket(executor);
    co_await acceptor.async_accept(socket, boost::asio::redirect_error(use_awaitable, ec));
    if (ec) {
      // Out of file descriptors (EMFILE, ENFILE), out of memory, a
      // connection reset before it was taken: none ends the server.
      if (ec == boost::asio::error::operation_aborted) continue;  // the acceptor was closed
      if (!failing) {
        Log("accept failed (" + ec.message() + "); retrying every " +
            std::to_string(options.accept_backoff.count()) + " ms, said once until one succeeds");
        failing = true;
      }
      backoff.expires_after(options.accept_backoff);
      co_await backoff.async_wait(boost::asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (failing) {
      Log("accepting connections again");
      failing = false;
    }
    // Without it every keep-alive response waits for the client's delayed ACK.
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    boost::asio::co_spawn(executor, Serve(std::move(socket), router, options, Slot(connections)),
                          boost::asio::detached);
  }
}

}  // namespace example::beast
