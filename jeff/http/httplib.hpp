#pragma once
/// \file
/// cpp-httplib adapter (header-only; the core does not link cpp-httplib):
/// Wrap puts a handler behind a session check, Public hands it the session if
/// there is one.

#include <httplib.h>
#include <jeff/csrf.hpp>
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

/// Answers 503 with Retry-After: the store failed, the user is neither in nor out.
inline void StoreUnavailable(httplib::Response& res, std::chrono::seconds retry_after) {
  res.status = 503;
  res.set_header("Retry-After", std::to_string(retry_after.count()));
  res.set_header("Cache-Control", "no-store");
  res.set_content("Service temporarily unavailable, please retry.\n", "text/plain");
}

/// The text of the 403 that AllowOrigin sends for `verdict` (not kAllowed):
/// a request without Origin (and Sec-Fetch-Site) is told so, since it is
/// usually a client that does not send the header (curl, an old browser, a
/// proxy that strips it), not an attack.
inline std::string OriginRefusal(CsrfVerdict verdict) {
  if (verdict == CsrfVerdict::kMissingOrigin) {
    return "Request refused: it has no Origin header (nor Sec-Fetch-Site), so it cannot be "
           "told apart from a cross-site request. Browsers send one; other clients must "
           "send Origin: <this site's origin>.\n";
  }
  return "Cross-site request refused: its Origin is not one this site accepts.\n";
}

/// Answers 403 when an unsafe request does not come from an allowed origin,
/// with a text saying whether the Origin header was missing or foreign
/// (OriginRefusal). Returns true when the request may go on (always, if
/// `allowed_origins` is empty).
inline bool AllowOrigin(const httplib::Request& req, httplib::Response& res,
                        const std::vector<std::string>& allowed_origins) {
  if (allowed_origins.empty()) return true;
  const CsrfVerdict verdict = CheckOrigin(req.method, req.get_header_value("Origin"),
                                          req.get_header_value("Sec-Fetch-Site"), allowed_origins);
  if (verdict == CsrfVerdict::kAllowed) return true;
  res.status = 403;
  res.set_content(OriginRefusal(verdict), "text/plain");
  return false;
}

/// A cpp-httplib handler that runs `handler` with the request's live session.
/// No session: options.on_unauthorized (default 302 to the configured
/// redirect); store failure: 503 with Retry-After, then
/// options.on_store_error; cross-origin unsafe
/// request (when allowed_origins is set): 403. `sessions` must outlive the
/// server.
inline httplib::Server::Handler Wrap(Sessions& sessions, SessionHandler handler,
                                     HttplibOptions options = {}) {
  return [&sessions, handler = std::move(handler), options = std::move(options)](
             const httplib::Request& req, httplib::Response& res) {
    if (!AllowOrigin(req, res, options.allowed_origins)) return;
    CheckResult checked = sessions.Check(CookieHeader(req));
    AddSetCookies(res, checked.set_cookie);
    if (checked.status == CheckStatus::kStoreError) {
      StoreUnavailable(res, options.retry_after);
      if (options.on_store_error) options.on_store_error(req, res, checked.error);
      return;
    }
    if (!checked.ok()) {
      if (options.on_unauthorized) {
        options.on_unauthorized(req, res);
      } else {
        res.set_redirect(sessions.options().unauthorized_redirect, 302);
      }
      return;
    }
    handler(req, res, checked.session);
  };
}

/// A cpp-httplib handler that runs `handler` for every request with what
/// Check found; it never redirects and never answers for the handler.
/// `sessions` must outlive the server.
inline httplib::Server::Handler Public(Sessions& sessions, PublicHandler handler) {
  return [&sessions, handler = std::move(handler)](const httplib::Request& req,
                                                    httplib::Response& res) {
    CheckResult checked = sessions.Check(CookieHeader(req));
    AddSetCookies(res, checked.set_cookie);
    handler(req, res, checked);
  };
}

}  // namespace jeff::http
