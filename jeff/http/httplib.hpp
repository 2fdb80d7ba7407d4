#pragma once
/// \file
/// cpp-httplib adapter (header-only; the core does not link cpp-httplib):
/// Wrap puts a handler behind a session check, Public hands it the session if
/// there is one, MountDeviceBinding serves the device-bound session (DBSC)
/// endpoints, AddIssued sends what a login issued. The rules are jeff/http/policy.hpp's; this file maps
/// cpp-httplib's types onto them.

#include <httplib.h>
#include <jeff/csrf.hpp>
#include <jeff/http/policy.hpp>
#include <jeff/sessions.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace jeff::http {

/// A handler that runs only with a live session.
using SessionHandler =
    std::function<void(const httplib::Request&, httplib::Response&, const Session&)>;

/// A handler that runs for everyone and sees what Check found (the session,
/// or why there is none, including a store failure).
using PublicHandler =
    std::function<void(const httplib::Request&, httplib::Response&, const CheckResult&)>;

/// How the adapter answers requests it stops.
struct HttplibOptions {
  /// Answers a request to a Wrap'ed route without a live session, given
  /// (optionally) why there is none (UnauthorizedHook). Empty: 302 to
  /// Options::unauthorized_redirect (default "/").
  UnauthorizedHook<const httplib::Request&, httplib::Response&> on_unauthorized;
  /// Retry-After (seconds) of the 503 sent when the store fails.
  std::chrono::seconds retry_after{1};
  /// Called with the store's error before that 503 is sent (e.g. to log
  /// it); may write its own response instead of the default one.
  /// Empty: nothing is called.
  std::function<void(const httplib::Request&, httplib::Response&, std::error_code)> on_store_error;
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
  std::function<void(const httplib::Request&, httplib::Response&)> on_reauthenticate;
  /// Accept `Authorization: Bearer <Issued::token>` in place of the cookie
  /// (PolicyOptions::bearer): API and mobile clients. Such requests skip the
  /// origin check, which is for cookies. false: the cookie only.
  bool bearer = false;
};

/// All Cookie request headers joined with "; " (HTTP/2 may split them).
inline std::string CookieHeader(const httplib::Request& req) {
  std::string joined;
  const std::size_t n = req.get_header_value_count("Cookie");
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) joined += "; ";
    joined += req.get_header_value("Cookie", i);
  }
  return joined;
}

/// Adds each value as its own Set-Cookie header.
inline void AddSetCookies(httplib::Response& res, const std::vector<std::string>& values) {
  for (const std::string& v : values) res.set_header("Set-Cookie", v);
}

/// Adds what Sessions::Set / Rotate issued to a login's response: each
/// Set-Cookie header and the other headers (Secure-Session-Registration,
/// which starts device binding when it is on).
inline void AddIssued(httplib::Response& res, const Issued& issued) {
  AddSetCookies(res, issued.set_cookie);
  for (const auto& [name, value] : issued.headers) res.set_header(name, value);
}

/// Writes `reply` (status, Set-Cookie and other headers, body) into `res`.
inline void ApplyReply(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  AddSetCookies(res, reply.set_cookie);
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (!reply.body.empty() || !reply.content_type.empty()) {
    res.set_content(reply.body, reply.content_type);
  }
}

/// Answers 503 with Retry-After: the store failed, the user is neither in nor out.
inline void StoreUnavailable(httplib::Response& res, std::chrono::seconds retry_after) {
  ApplyReply(res, StoreUnavailableReply(retry_after));
}

namespace detail {

// The policy's view of a cpp-httplib request; `cookie` holds the joined
// Cookie headers the view points into.
struct HttplibView {
  explicit HttplibView(const httplib::Request& req)
      : cookie(CookieHeader(req)),
        origin(req.get_header_value("Origin")),
        sec_fetch_site(req.get_header_value("Sec-Fetch-Site")),
        authorization(req.get_header_value("Authorization")),
        secure_session_response(req.get_header_value("Secure-Session-Response")),
        secure_session_id(req.get_header_value("Sec-Secure-Session-Id")),
        view{req.method,    origin, sec_fetch_site, cookie, authorization, secure_session_response,
             secure_session_id} {}
  HttplibView(const HttplibView&) = delete;  // `view` points into this object
  HttplibView& operator=(const HttplibView&) = delete;
  std::string cookie, origin, sec_fetch_site, authorization, secure_session_response,
      secure_session_id;
  RequestView view;
};

// `path` as a regular expression that matches exactly it (cpp-httplib
// routes are regular expressions).
inline std::string LiteralPattern(std::string_view path) {
  std::string pattern;
  for (const char c : path) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  return pattern;
}

}  // namespace detail

/// Answers 403 when an unsafe request does not come from an allowed origin,
/// with a text saying whether the Origin header was missing or foreign
/// (OriginRefusal). Returns true when the request may go on (always, if
/// `allowed_origins` is empty).
inline bool AllowOrigin(const httplib::Request& req, httplib::Response& res,
                        const std::vector<std::string>& allowed_origins) {
  const std::optional<Reply> refusal = RefuseOrigin(detail::HttplibView(req).view, allowed_origins);
  if (refusal) ApplyReply(res, *refusal);
  return !refusal;
}

/// A cpp-httplib handler that runs `handler` with the request's live session.
/// No session: options.on_unauthorized (default 302 to the configured
/// redirect); store failure: 503 with Retry-After, then
/// options.on_store_error; cross-origin unsafe
/// request (when allowed_origins is set): 403; a session older than
/// options.max_authentication_age: options.on_reauthenticate (default
/// 401). `sessions` must outlive the
/// server.
inline httplib::Server::Handler Wrap(Sessions& sessions, SessionHandler handler,
                                     HttplibOptions options = {}) {
  PolicyOptions policy = PolicyFor(sessions.options(), options);
  return [&sessions, handler = std::move(handler), options = std::move(options),
          policy = std::move(policy)](const httplib::Request& req, httplib::Response& res) {
    const detail::HttplibView request(req);
    const Decision decision = Decide(sessions, request.view, policy, Access::kSession);
    using Outcome = Decision::Outcome;
    if (decision.outcome == Outcome::kRunHandler) {
      AddSetCookies(res, decision.reply.set_cookie);
      handler(req, res, decision.checked.session);
    } else if (decision.outcome == Outcome::kUnauthorized && options.on_unauthorized) {
      AddSetCookies(res, decision.reply.set_cookie);
      options.on_unauthorized(req, res, decision.checked.status);
    } else if (decision.outcome == Outcome::kReauthenticate && options.on_reauthenticate) {
      AddSetCookies(res, decision.reply.set_cookie);
      options.on_reauthenticate(req, res);
    } else {
      ApplyReply(res, decision.reply);
      if (decision.outcome == Outcome::kStoreError && options.on_store_error) {
        options.on_store_error(req, res, decision.checked.error);
      }
    }
  };
}

/// Serves the device-bound session (DBSC) endpoints of
/// sessions.options().device_binding on `server`: POST registration_path and
/// refresh_path, answered by Sessions::RegisterDevice / RefreshDevice
/// (AnswerDeviceBinding); a store failure is a 503 with Retry-After
/// `retry_after`. Does nothing when device binding is off. `sessions` must
/// outlive the server.
inline void MountDeviceBinding(httplib::Server& server, Sessions& sessions,
                               std::chrono::seconds retry_after = std::chrono::seconds(1)) {
  const DeviceBindingOptions& binding = sessions.options().device_binding;
  if (!binding.enabled) return;
  for (const auto& [path, endpoint] : {std::pair{binding.registration_path, DeviceEndpoint::kRegistration},
                                       std::pair{binding.refresh_path, DeviceEndpoint::kRefresh}}) {
    server.Post(detail::LiteralPattern(path),
                [&sessions, endpoint, retry_after](const httplib::Request& req, httplib::Response& res) {
                  const detail::HttplibView request(req);
                  ApplyReply(res, AnswerDeviceBinding(sessions, endpoint, request.view, retry_after));
                });
  }
}

/// A cpp-httplib handler that runs `handler` for every request with what
/// Check found; it never redirects and never answers for the handler.
/// `sessions` must outlive the server.
inline httplib::Server::Handler Public(Sessions& sessions, PublicHandler handler) {
  return [&sessions, handler = std::move(handler), policy = PolicyOptions{}](
             const httplib::Request& req, httplib::Response& res) {
    const detail::HttplibView request(req);
    const Decision decision = Decide(sessions, request.view, policy, Access::kPublic);
    AddSetCookies(res, decision.reply.set_cookie);
    handler(req, res, decision.checked);
  };
}

}  // namespace jeff::http
