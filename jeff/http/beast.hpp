#pragma once
/// \file
/// Boost.Beast adapter (header-only; the core does not link Boost): Wrap puts
/// a coroutine handler behind a session check on an AsyncSessions, Public
/// hands it what Check found, DeviceBindingRoutes serves the device-bound
/// session (DBSC) endpoints, AddIssued sends what a login issued. The rules are jeff/http/policy.hpp's, the same
/// as the cpp-httplib adapter's; this file maps Beast's types onto them.
///
///     namespace jh = jeff::http::beast;
///     jh::Handler account = jh::Wrap(sessions,
///         [](const jh::Request&, jh::Response& res, const jeff::Session& s)
///             -> boost::asio::awaitable<void> {
///           res.body() = "hello " + s.key;
///           co_return;
///         });
///     co_await account(req, res);  // in the connection's coroutine
///
/// The adapter reads and writes nothing on the network: request size limits
/// (the parser's header_limit and body_limit), read and idle timeouts and
/// the connection cap are the server's (example/beast/server.cpp sets them
/// all). It throws nothing of its own beyond std::bad_alloc; an exception
/// from an application handler or hook reaches the `co_await` of the route,
/// so the connection's coroutine must catch it (an exception escaping a
/// `co_spawn`ed coroutine whose completion rethrows ends the loop).

#include <jeff/async_sessions.hpp>
#include <jeff/csrf.hpp>
#include <jeff/http/policy.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace jeff::http::beast {

/// The request type the adapter reads.
using Request = boost::beast::http::request<boost::beast::http::string_body>;
/// The response type the adapter writes (the server calls prepare_payload()
/// before sending it).
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/// A route: fills `res` for `req`. Both must live until the coroutine ends.
using Handler = std::function<boost::asio::awaitable<void>(const Request&, Response&)>;

/// A handler that runs only with a live session.
using SessionHandler =
    std::function<boost::asio::awaitable<void>(const Request&, Response&, const Session&)>;

/// A handler that runs for everyone and sees what Check found (the session,
/// or why there is none, including a store failure).
using PublicHandler =
    std::function<boost::asio::awaitable<void>(const Request&, Response&, const CheckResult&)>;

/// How the adapter answers requests it stops (as HttplibOptions).
struct BeastOptions {
  /// Answers a request to a Wrap'ed route without a live session, given
  /// (optionally) why there is none (UnauthorizedHook). Empty: 302 to
  /// Options::unauthorized_redirect (default "/").
  UnauthorizedHook<const Request&, Response&> on_unauthorized;
  /// Retry-After (seconds) of the 503 sent when the store fails.
  std::chrono::seconds retry_after{1};
  /// Called with the store's error after that 503 is written (e.g. to log
  /// it); may write its own response instead. Empty: nothing is called.
  std::function<void(const Request&, Response&, std::error_code)> on_store_error;
  /// Origins (`scheme://host[:port]`) allowed to send unsafe methods (POST,
  /// PUT, ...) to Wrap'ed routes; others get 403. Empty: no check.
  std::vector<std::string> allowed_origins;
  /// Step-up: a session whose last authentication (Session::authenticated_at)
  /// is older than this is answered by on_reauthenticate instead of the
  /// handler. 0: any age. Set it per route, e.g. 10 minutes for "delete
  /// account"; the prompt behind it ends in Sessions::Reauthenticated.
  std::chrono::seconds max_authentication_age{0};
  /// Answers such a request (the Set-Cookie headers are already added), e.g.
  /// a 302 to the password prompt. Empty: 401 "Please sign in again".
  std::function<void(const Request&, Response&)> on_reauthenticate;
  /// Accept `Authorization: Bearer <Issued::token>` in place of the cookie
  /// (PolicyOptions::bearer): API and mobile clients. Such requests skip the
  /// origin check, which is for cookies. false: the cookie only.
  bool bearer = false;
};

/// All Cookie request headers joined with "; " (HTTP/2 may split them).
inline std::string CookieHeader(const Request& req) {
  std::string joined;
  bool first = true;
  for (auto [it, end] = req.equal_range(boost::beast::http::field::cookie); it != end; ++it) {
    if (!first) joined += "; ";
    first = false;
    joined.append(it->value().data(), it->value().size());
  }
  return joined;
}

/// Adds each value as its own Set-Cookie header.
inline void AddSetCookies(Response& res, const std::vector<std::string>& values) {
  for (const std::string& v : values) res.insert(boost::beast::http::field::set_cookie, v);
}

/// Adds what AsyncSessions::Set / Rotate issued to a login's response: each
/// Set-Cookie header and the other headers (Secure-Session-Registration,
/// which starts device binding when it is on).
inline void AddIssued(Response& res, const Issued& issued) {
  AddSetCookies(res, issued.set_cookie);
  for (const auto& [name, value] : issued.headers) res.insert(name, value);
}

/// Writes `reply` (status, Set-Cookie and other headers, body) into `res`.
inline void ApplyReply(Response& res, const Reply& reply) {
  res.result(static_cast<unsigned>(reply.status));
  AddSetCookies(res, reply.set_cookie);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  if (!reply.body.empty() || !reply.content_type.empty()) {
    res.set(boost::beast::http::field::content_type, reply.content_type);
    res.body() = reply.body;
  }
}

/// Answers 503 with Retry-After: the store failed, the user is neither in nor out.
inline void StoreUnavailable(Response& res, std::chrono::seconds retry_after) {
  ApplyReply(res, StoreUnavailableReply(retry_after));
}

namespace detail {

// The policy's view of a Beast request; `cookie` holds the joined Cookie
// headers the view points into.
struct BeastView {
  explicit BeastView(const Request& req)
      : cookie(CookieHeader(req)),
        view{std::string_view(req.method_string().data(), req.method_string().size()),
             Field(req, boost::beast::http::field::origin),
             Field(req, "Sec-Fetch-Site"), cookie,
             Field(req, boost::beast::http::field::authorization),
             Field(req, "Secure-Session-Response"), Field(req, "Sec-Secure-Session-Id")} {}
  BeastView(const BeastView&) = delete;  // `view` points into this object
  BeastView& operator=(const BeastView&) = delete;

  template <typename Name>
  static std::string_view Field(const Request& req, Name name) {
    const auto value = req[name];
    return {value.data(), value.size()};
  }
  std::string cookie;
  RequestView view;
};

// GCC 11-15 report a false -Wmismatched-new-delete on every coroutine whose
// promise has a sized class operator delete, as Asio's awaitable frames do
// (GCC PR middle-end/109224); silenced for this file's coroutines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Runs the policy around an asynchronous Check and answers for the handler
// when it must not run; returns what Check found when it must. `hooks` is
// null for Public routes.
inline boost::asio::awaitable<std::optional<CheckResult>> Admit(
    AsyncSessions& sessions, const PolicyOptions& policy, const BeastOptions* hooks,
    const Request& req, Response& res) {
  const Access access = hooks != nullptr ? Access::kSession : Access::kPublic;
  const BeastView request(req);
  std::optional<Decision> decision = BeforeCheck(request.view, policy, access);
  if (!decision) {
    CheckResult checked;
    if (ChecksBearer(request.view, policy)) {
      checked = co_await sessions.CheckBearer(request.view.authorization, boost::asio::use_awaitable);
    } else {
      checked = co_await sessions.Check(request.view.cookie, boost::asio::use_awaitable);
    }
    decision = AfterCheck(std::move(checked), policy, access);
  }
  using Outcome = Decision::Outcome;
  if (decision->outcome == Outcome::kRunHandler) {
    AddSetCookies(res, decision->reply.set_cookie);
    co_return std::move(decision->checked);
  }
  if (hooks != nullptr && decision->outcome == Outcome::kUnauthorized && hooks->on_unauthorized) {
    AddSetCookies(res, decision->reply.set_cookie);
    hooks->on_unauthorized(req, res, decision->checked.status);
  } else if (hooks != nullptr && decision->outcome == Outcome::kReauthenticate &&
             hooks->on_reauthenticate) {
    AddSetCookies(res, decision->reply.set_cookie);
    hooks->on_reauthenticate(req, res);
  } else {
    ApplyReply(res, decision->reply);
    if (decision->outcome == Outcome::kStoreError && hooks != nullptr && hooks->on_store_error) {
      hooks->on_store_error(req, res, decision->checked.error);
    }
  }
  co_return std::nullopt;
}

// One request to a device-binding endpoint, answered by the core.
inline boost::asio::awaitable<void> AnswerDevice(AsyncSessions& sessions, DeviceEndpoint endpoint,
                                                 std::chrono::seconds retry_after, const Request& req,
                                                 Response& res) {
  const BeastView request(req);
  const RequestView& v = request.view;
  // Two statements, not one `?:` around both co_awaits: built by GCC 12,
  // that form wrote through a corrupted frame (http_beast crashed).
  std::optional<Result<DeviceBindingResponse>> answer;
  if (endpoint == DeviceEndpoint::kRegistration) {
    answer = co_await sessions.RegisterDevice(v.cookie, v.secure_session_response,
                                              boost::asio::use_awaitable);
  } else {
    answer = co_await sessions.RefreshDevice(v.cookie, v.secure_session_id,
                                             v.secure_session_response, boost::asio::use_awaitable);
  }
  ApplyReply(res, DeviceBindingReply(std::move(*answer), retry_after));
}

// What a Wrap'ed or Public route keeps, shared by its running coroutines.
template <typename RouteHandler>
struct Route {
  RouteHandler handler;
  PolicyOptions policy;
  std::optional<BeastOptions> hooks;  // Wrap only
};

inline boost::asio::awaitable<void> Invoke(const SessionHandler& handler, const Request& req,
                                           Response& res, const CheckResult& checked) {
  return handler(req, res, checked.session);
}

inline boost::asio::awaitable<void> Invoke(const PublicHandler& handler, const Request& req,
                                           Response& res, const CheckResult& checked) {
  return handler(req, res, checked);
}

// One request on a route; `route` is held by the coroutine's frame, so the
// Handler that started it may go away first.
template <typename RouteHandler>
boost::asio::awaitable<void> Run(AsyncSessions& sessions,
                                 std::shared_ptr<const Route<RouteHandler>> route,
                                 const Request& req, Response& res) {
  const BeastOptions* hooks = route->hooks ? &*route->hooks : nullptr;
  std::optional<CheckResult> checked = co_await Admit(sessions, route->policy, hooks, req, res);
  if (checked) co_await Invoke(route->handler, req, res, *checked);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail

/// Answers 403 when an unsafe request does not come from an allowed origin,
/// with a text saying whether the Origin header was missing or foreign
/// (OriginRefusal). Returns true when the request may go on (always, if
/// `allowed_origins` is empty).
inline bool AllowOrigin(const Request& req, Response& res,
                        const std::vector<std::string>& allowed_origins) {
  const std::optional<Reply> refusal = RefuseOrigin(detail::BeastView(req).view, allowed_origins);
  if (refusal) ApplyReply(res, *refusal);
  return !refusal;
}

/// A route that runs `handler` with the request's live session. No session:
/// options.on_unauthorized (default 302 to the configured redirect); store
/// failure: 503 with Retry-After, then options.on_store_error; cross-origin
/// unsafe request (when allowed_origins is set): 403; a session older than
/// options.max_authentication_age: options.on_reauthenticate (default 401).
/// Runs on the loop of
/// `sessions`, which must outlive every request that starts; a request
/// waiting for its Check when `sessions` is destroyed gets the 503 (the
/// Check completes with std::errc::operation_canceled).
inline Handler Wrap(AsyncSessions& sessions, SessionHandler handler, BeastOptions options = {}) {
  auto route = std::make_shared<detail::Route<SessionHandler>>();
  route->handler = std::move(handler);
  route->policy = PolicyFor(sessions.options(), options);
  route->hooks = std::move(options);
  return [&sessions, route = std::shared_ptr<const detail::Route<SessionHandler>>(std::move(route))](
             const Request& req, Response& res) { return detail::Run(sessions, route, req, res); };
}

/// A device-bound session (DBSC) endpoint: the path to serve for POST and its handler.
struct DeviceBindingRoute {
  std::string path;  ///< registration_path or refresh_path of Options::device_binding
  Handler handler;   ///< answers with the core's Reply (a store failure: 503)
};

/// The routes of the DBSC endpoints of sessions.options().device_binding
/// (POST registration_path and refresh_path), answered by
/// AsyncSessions::RegisterDevice / RefreshDevice; a store failure is a 503
/// with Retry-After `retry_after`. Empty when device binding is off.
/// `sessions` must outlive every request.
///
///     for (auto& [path, handler] : jh::DeviceBindingRoutes(sessions)) {
///       router.Add(boost::beast::http::verb::post, path, handler);
///     }
inline std::vector<DeviceBindingRoute> DeviceBindingRoutes(
    AsyncSessions& sessions, std::chrono::seconds retry_after = std::chrono::seconds(1)) {
  const DeviceBindingOptions& binding = sessions.options().device_binding;
  if (!binding.enabled) return {};
  std::vector<DeviceBindingRoute> routes;
  for (const auto& [path, endpoint] : {std::pair{binding.registration_path, DeviceEndpoint::kRegistration},
                                       std::pair{binding.refresh_path, DeviceEndpoint::kRefresh}}) {
    routes.push_back({path, [&sessions, endpoint, retry_after](const Request& req, Response& res) {
                        return detail::AnswerDevice(sessions, endpoint, retry_after, req, res);
                      }});
  }
  return routes;
}

/// A route that runs `handler` for every request with what Check found; it
/// never redirects and never answers for the handler. `sessions` must
/// outlive every request.
inline Handler Public(AsyncSessions& sessions, PublicHandler handler) {
  auto route = std::make_shared<const detail::Route<PublicHandler>>(
      detail::Route<PublicHandler>{std::move(handler), PolicyOptions{}, std::nullopt});
  return [&sessions, route](const Request& req, Response& res) {
    return detail::Run(sessions, route, req, res);
  };
}

}  // namespace jeff::http::beast
