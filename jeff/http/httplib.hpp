#pragma once
/// \file
/// cpp-httplib adapter (header-only; the core does not link cpp-httplib):
/// Wrap puts a handler behind a session check, Public hands it the session if
/// there is one. The rules are jeff/http/policy.hpp's; this file maps
/// cpp-httplib's types onto them.

#include <httplib.h>
#include <jeff/csrf.hpp>
#include <jeff/http/policy.hpp>
#include <jeff/sessions.hpp>

#include <chrono>
#include <functional>
#include <string>
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
  /// Answers a request to a Wrap'ed route without a live session. Empty: 302
  /// to Options::unauthorized_redirect (default "/").
  std::function<void(const httplib::Request&, httplib::Response&)> on_unauthorized;
  /// Retry-After (seconds) of the 503 sent when the store fails.
  std::chrono::seconds retry_after{1};
  /// Called with the store's error before that 503 is sent (e.g. to log
  /// it); may write its own response instead of the default one.
  /// Empty: nothing is called.
  std::function<void(const httplib::Request&, httplib::Response&, std::error_code)> on_store_error;
  /// Origins (`scheme://host[:port]`) allowed to send unsafe methods (POST,
  /// PUT, ...) to Wrap'ed routes; others get 403. Empty: no check.
  std::vector<std::string> allowed_origins;
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
        view{req.method, origin, sec_fetch_site, cookie, authorization} {}
  HttplibView(const HttplibView&) = delete;  // `view` points into this object
  HttplibView& operator=(const HttplibView&) = delete;
  std::string cookie, origin, sec_fetch_site, authorization;
  RequestView view;
};

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
/// request (when allowed_origins is set): 403. `sessions` must outlive the
/// server.
inline httplib::Server::Handler Wrap(Sessions& sessions, SessionHandler handler,
                                     HttplibOptions options = {}) {
  PolicyOptions policy;
  policy.allowed_origins = std::move(options.allowed_origins);
  policy.retry_after = options.retry_after;
  policy.unauthorized_redirect = sessions.options().unauthorized_redirect;
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
      options.on_unauthorized(req, res);
    } else {
      ApplyReply(res, decision.reply);
      if (decision.outcome == Outcome::kStoreError && options.on_store_error) {
        options.on_store_error(req, res, decision.checked.error);
      }
    }
  };
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
