#pragma once
/// \file
/// POCO adapter (header-only; the core does not link POCO): Wrap puts a
/// handler behind a session check, Public hands it what Check found, and
/// Handler makes either a Poco::Net::HTTPRequestHandler for a factory,
/// DeviceBindingRoutes serves the device-bound session (DBSC) endpoints,
/// AddIssued sends what a login issued. The
/// rules are jeff/http/policy.hpp's, the same as the cpp-httplib and Beast
/// adapters'; this file maps POCO's types onto them.
///
///     namespace jp = jeff::http::poco;
///     jp::Route account = jp::Wrap(sessions,
///         [](jp::Request&, jp::Response& res, const jeff::Session& s) {
///           jp::Send(res, "hello " + s.key, "text/plain");
///         });
///     // in HTTPRequestHandlerFactory::createRequestHandler:
///     return new jp::Handler(account);
///
/// POCO sends nothing a handler does not send: a route's handler must send
/// its response (Send, or Poco's send()/sendBuffer()).

#include <jeff/http/policy.hpp>
#include <jeff/sessions.hpp>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/String.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace jeff::http::poco {

/// The request type the adapter reads.
using Request = Poco::Net::HTTPServerRequest;
/// The response type the adapter writes.
using Response = Poco::Net::HTTPServerResponse;

/// A route: answers `req` on `res` (sends it).
using Route = std::function<void(Request&, Response&)>;

/// A handler that runs only with a live session; it sends the response.
using SessionHandler = std::function<void(Request&, Response&, const Session&)>;

/// A handler that runs for everyone and sees what Check found (the session,
/// or why there is none, including a store failure); it sends the response.
using PublicHandler = std::function<void(Request&, Response&, const CheckResult&)>;

/// How the adapter answers requests it stops (as HttplibOptions).
struct PocoOptions {
  /// Answers a request to a Wrap'ed route without a live session, given
  /// (optionally) why there is none (UnauthorizedHook; the Set-Cookie
  /// headers are already added). Empty: 302 to
  /// Options::unauthorized_redirect (default "/"). What it leaves unsent is
  /// sent as it stands, without a body.
  UnauthorizedHook<Request&, Response&> on_unauthorized;
  /// Retry-After (seconds) of the 503 sent when the store fails.
  std::chrono::seconds retry_after{1};
  /// Called with the store's error when the 503's status and headers are
  /// set, before it is sent (e.g. to log it); may send its own response
  /// instead. Empty: nothing is called.
  std::function<void(Request&, Response&, std::error_code)> on_store_error;
  /// Origins (`scheme://host[:port]`) allowed to send unsafe methods (POST,
  /// PUT, ...) to Wrap'ed routes; others get 403. Empty: no check.
  std::vector<std::string> allowed_origins;
  /// Step-up: a session whose last authentication (Session::authenticated_at)
  /// is older than this is answered by on_reauthenticate instead of the
  /// handler. 0: any age. Set it per route, e.g. 10 minutes for "delete
  /// account"; the prompt behind it ends in Sessions::Reauthenticated.
  std::chrono::seconds max_authentication_age{0};
  /// Answers such a request (the Set-Cookie headers are already added;
  /// what it leaves unsent is sent as it stands), e.g.
  /// a 302 to the password prompt. Empty: 401 "Please sign in again".
  std::function<void(Request&, Response&)> on_reauthenticate;
  /// Accept `Authorization: Bearer <Issued::token>` in place of the cookie
  /// (PolicyOptions::bearer): API and mobile clients. Such requests skip the
  /// origin check, which is for cookies. false: the cookie only.
  bool bearer = false;
};

/// All Cookie request headers joined with "; " (HTTP/2 may split them).
inline std::string CookieHeader(const Request& req) {
  std::string joined;
  for (auto it = req.find("Cookie"); it != req.end() && Poco::icompare(it->first, "Cookie") == 0;
       ++it) {
    if (!joined.empty()) joined += "; ";
    joined += it->second;
  }
  return joined;
}

/// Adds each value as its own Set-Cookie header (e.g. Issued::set_cookie
/// after Sessions::Set, or what Sessions::Clear returns).
inline void AddSetCookies(Response& res, const std::vector<std::string>& values) {
  for (const std::string& v : values) res.add("Set-Cookie", v);
}

/// Adds what Sessions::Set / Rotate issued to a login's response: each
/// Set-Cookie header and the other headers (Secure-Session-Registration,
/// which starts device binding when it is on).
inline void AddIssued(Response& res, const Issued& issued) {
  AddSetCookies(res, issued.set_cookie);
  for (const auto& [name, value] : issued.headers) res.set(name, value);
}

/// Sessions::Set(key, meta, options), with what it issued added to `res`
/// (AddIssued) when it succeeds (log-in).
inline Result<Issued> Set(Sessions& sessions, Response& res, std::string_view key,
                          std::string_view meta = {}, const SetOptions& options = {}) {
  Result<Issued> issued = sessions.Set(key, meta, options);
  if (issued.ok()) AddIssued(res, *issued);
  return issued;
}

/// Sessions::Clear on the request's Cookie headers, with the clearing
/// Set-Cookie headers added to `res` when it succeeds (log-out).
inline Result<std::vector<std::string>> Clear(Sessions& sessions, const Request& req,
                                              Response& res) {
  Result<std::vector<std::string>> cleared = sessions.Clear(CookieHeader(req));
  if (cleared.ok()) AddSetCookies(res, *cleared);
  return cleared;
}

/// Sends `body` as the response, with Content-Type `content_type` (none
/// when empty) and its Content-Length.
inline void Send(Response& res, std::string_view body, const std::string& content_type = {}) {
  if (!content_type.empty()) res.setContentType(content_type);
  res.sendBuffer(body.data(), body.size());
}

/// Sets `reply`'s status, Set-Cookie and other headers on `res`, unsent.
inline void SetReplyHeaders(Response& res, const Reply& reply) {
  res.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
  AddSetCookies(res, reply.set_cookie);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
}

/// Sends `reply` (status, Set-Cookie and other headers, body) on `res`.
inline void ApplyReply(Response& res, const Reply& reply) {
  SetReplyHeaders(res, reply);
  Send(res, reply.body, reply.content_type);
}

/// Sends 503 with Retry-After: the store failed, the user is neither in nor out.
inline void StoreUnavailable(Response& res, std::chrono::seconds retry_after) {
  ApplyReply(res, StoreUnavailableReply(retry_after));
}

namespace detail {

// The policy's view of a POCO request; the strings hold what the view
// points into (absent headers are empty).
struct PocoView {
  explicit PocoView(const Request& req)
      : cookie(CookieHeader(req)),
        origin(req.get("Origin", std::string())),
        sec_fetch_site(req.get("Sec-Fetch-Site", std::string())),
        authorization(req.get("Authorization", std::string())),
        secure_session_response(req.get("Secure-Session-Response", std::string())),
        secure_session_id(req.get("Sec-Secure-Session-Id", std::string())),
        view{req.getMethod(), origin,         sec_fetch_site, cookie, authorization, secure_session_response,
             secure_session_id} {}
  PocoView(const PocoView&) = delete;  // `view` points into this object
  PocoView& operator=(const PocoView&) = delete;
  std::string cookie, origin, sec_fetch_site, authorization, secure_session_response, secure_session_id;
  RequestView view;
};

// Before answering for a handler that will not read the request's body:
// POCO leaves an unread body on the connection, where it would be parsed as
// the next request, so the connection closes after this response instead.
inline void CloseIfBodyUnread(const Request& req, Response& res) {
  if (req.getChunkedTransferEncoding() || (req.hasContentLength() && req.getContentLength64() > 0)) {
    res.setKeepAlive(false);
  }
}

}  // namespace detail

/// Sends 403 when an unsafe request does not come from an allowed origin,
/// with a text saying whether the Origin header was missing or foreign
/// (OriginRefusal), and closes the connection after it when the request has
/// a body. Returns true when the request may go on (always, if
/// `allowed_origins` is empty).
inline bool AllowOrigin(const Request& req, Response& res,
                        const std::vector<std::string>& allowed_origins) {
  const std::optional<Reply> refusal = RefuseOrigin(detail::PocoView(req).view, allowed_origins);
  if (refusal) {
    detail::CloseIfBodyUnread(req, res);
    ApplyReply(res, *refusal);
  }
  return !refusal;
}

/// A route that runs `handler` with the request's live session. No session:
/// options.on_unauthorized (default 302 to the configured redirect); store
/// failure: 503 with Retry-After (options.on_store_error is called first);
/// cross-origin unsafe request (when allowed_origins is set): 403; a session
/// older than options.max_authentication_age: options.on_reauthenticate
/// (default 401). A
/// request with a body answered so is the connection's last (its body is
/// left unread). `sessions` must outlive the server.
inline Route Wrap(Sessions& sessions, SessionHandler handler, PocoOptions options = {}) {
  PolicyOptions policy = PolicyFor(sessions.options(), options);
  return [&sessions, handler = std::move(handler), options = std::move(options),
          policy = std::move(policy)](Request& req, Response& res) {
    const detail::PocoView request(req);
    const Decision decision = Decide(sessions, request.view, policy, Access::kSession);
    using Outcome = Decision::Outcome;
    if (decision.outcome == Outcome::kRunHandler) {
      AddSetCookies(res, decision.reply.set_cookie);
      handler(req, res, decision.checked.session);
      return;
    }
    detail::CloseIfBodyUnread(req, res);
    const bool unauthorized = decision.outcome == Outcome::kUnauthorized && options.on_unauthorized;
    if (unauthorized ||
        (decision.outcome == Outcome::kReauthenticate && options.on_reauthenticate)) {
      AddSetCookies(res, decision.reply.set_cookie);
      if (unauthorized) {
        options.on_unauthorized(req, res, decision.checked.status);
      } else {
        options.on_reauthenticate(req, res);
      }
      if (!res.sent()) Send(res, {});
      return;
    }
    SetReplyHeaders(res, decision.reply);
    if (decision.outcome == Outcome::kStoreError && options.on_store_error) {
      options.on_store_error(req, res, decision.checked.error);
    }
    if (!res.sent()) Send(res, decision.reply.body, decision.reply.content_type);
  };
}

/// A route that runs `handler` for every request with what Check found; it
/// never redirects and never answers for the handler. `sessions` must
/// outlive the server.
inline Route Public(Sessions& sessions, PublicHandler handler) {
  return [&sessions, handler = std::move(handler), policy = PolicyOptions{}](Request& req,
                                                                            Response& res) {
    const detail::PocoView request(req);
    const Decision decision = Decide(sessions, request.view, policy, Access::kPublic);
    AddSetCookies(res, decision.reply.set_cookie);
    handler(req, res, decision.checked);
  };
}

/// The routes of the device-bound session (DBSC) endpoints of
/// sessions.options().device_binding: POST registration_path and
/// refresh_path, answered by Sessions::RegisterDevice / RefreshDevice
/// (AnswerDeviceBinding); a store failure is a 503 with Retry-After
/// `retry_after`. Empty when device binding is off. The endpoints' bodies
/// are empty (the proof travels in a header); one sent anyway is left
/// unread and ends the connection. `sessions` must outlive the server.
///
///     for (auto& [path, route] : jp::DeviceBindingRoutes(sessions)) router.Add("POST", path, route);
inline std::vector<std::pair<std::string, Route>> DeviceBindingRoutes(
    Sessions& sessions, std::chrono::seconds retry_after = std::chrono::seconds(1)) {
  const DeviceBindingOptions& binding = sessions.options().device_binding;
  if (!binding.enabled) return {};
  std::vector<std::pair<std::string, Route>> routes;
  for (const auto& [path, endpoint] : {std::pair{binding.registration_path, DeviceEndpoint::kRegistration},
                                       std::pair{binding.refresh_path, DeviceEndpoint::kRefresh}}) {
    routes.emplace_back(path, [&sessions, endpoint, retry_after](Request& req, Response& res) {
      const detail::PocoView request(req);
      detail::CloseIfBodyUnread(req, res);
      ApplyReply(res, AnswerDeviceBinding(sessions, endpoint, request.view, retry_after));
    });
  }
  return routes;
}

/// A Poco::Net::HTTPRequestHandler that runs a Route (Wrap's, Public's or
/// any other), for an HTTPRequestHandlerFactory to return per request.
class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  /// Runs `route`, which must outlive this handler (keep the Routes in the
  /// factory, which the server owns).
  explicit Handler(const Route& route) : route_(route) {}
  /// Runs the route on the request.
  void handleRequest(Request& req, Response& res) override { route_(req, res); }

 private:
  const Route& route_;
};

/// An HTTPRequestHandlerFactory routing (method, path) to a Route: the
/// path is the request URI up to `?`; unknown paths get `not_found`. Add
/// every route before the server starts (the server's threads only read).
class Router final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  /// Routes `method` requests to `path` (exact match) to `route`.
  void Add(std::string method, std::string path, Route route) {
    routes_.insert_or_assign(std::make_pair(std::move(method), std::move(path)), std::move(route));
  }
  /// A Handler for the request's route, or for `not_found`.
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Request& req) override {
    const std::string& uri = req.getURI();
    const auto it = routes_.find(std::make_pair(req.getMethod(), uri.substr(0, uri.find('?'))));
    return new Handler(it != routes_.end() ? it->second : not_found);
  }
  /// Answers requests no route matches. Default: 404, plain text.
  Route not_found = [](Request&, Response& res) {
    res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
    Send(res, "Not found\n", "text/plain; charset=utf-8");
  };

 private:
  std::map<std::pair<std::string, std::string>, Route> routes_;
};

}  // namespace jeff::http::poco
