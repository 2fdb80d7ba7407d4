#include "app.hpp"

#include "device_name.hpp"
#include "next_path.hpp"
#include "pages.hpp"

#include <jeff/csrf.hpp>
#include <jeff/http/httplib.hpp>
#include <jeff/metrics.hpp>

#include <atomic>
#include <memory>
#include <string_view>

namespace example {
namespace {

using jeff::CheckResult;
using jeff::Session;
using jeff::Sessions;

void Html(httplib::Response& res, const std::string& html, int status = 200) {
  res.status = status;
  if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html; charset=utf-8");
}

void SeeOther(httplib::Response& res, const std::string& location) {
  res.set_redirect(location, 303);
}

// The store failed: logged to stderr, answered 503 in the app's style.
void StoreError(const httplib::Request& req, httplib::Response& res, std::error_code ec) {
  LogStoreError(req.method, req.path, ec);
  if (!res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  Html(res, StoreErrorPage(req.method, req.path), 503);
}

}  // namespace

void MountRoutes(httplib::Server& server, Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config) {
  jeff::http::HttplibOptions wrap_options;
  wrap_options.allowed_origins = config.allowed_origins;
  wrap_options.on_store_error = StoreError;
  // Back to the page asked for after logging in; "you were signed out" when
  // the request still carried a session cookie.
  wrap_options.on_unauthorized = [&sessions](const httplib::Request& req, httplib::Response& res) {
    const Unauthorized to = UnauthorizedFor(req.method, req.path, jeff::http::CookieHeader(req),
                                            sessions.options());
    if (!to.set_cookie.empty()) res.set_header("Set-Cookie", to.set_cookie);
    res.set_redirect(to.location, 302);
  };
  const std::vector<std::string> origins = config.allowed_origins;
  const bool stateless = config.stateless;
  // A browser on plain HTTP drops the Secure cookie: the login page says so.
  auto plain_http_logged = std::make_shared<std::atomic<bool>>(false);
  auto plain_http_notice = [&sessions, origins, plain_http_logged](const httplib::Request& req) {
    return PlainHttpNotice(sessions.options().cookie.secure, req.get_header_value("Origin"),
                           req.get_header_value("Host"), origins, *plain_http_logged);
  };

  if (config.metrics) {
    // The Prometheus text exposition format, version 0.0.4.
    server.Get("/metrics", [&sessions](const httplib::Request&, httplib::Response& res) {
      res.set_content(jeff::WritePrometheus(sessions.metrics()), "text/plain; version=0.0.4; charset=utf-8");
    });
  }

  // Called for every answer >= 400; only an empty 404 (no route) gets a page.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (res.status != 404 || !res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        Html(res, NotFoundPage(), 404);
        return httplib::Server::HandlerResponse::Handled;
      }));

  server.Get("/", jeff::http::Public(sessions, [](const auto& req, auto& res, const CheckResult& r) {
    if (r.status == jeff::CheckStatus::kStoreError) {
      StoreError(req, res, r.error);
      return;
    }
    Html(res, HomePage(r));
  }));

  server.Get("/login", jeff::http::Public(sessions, [stateless, plain_http_notice](
                                                     const auto& req, auto& res, const CheckResult& r) {
    const std::string next = req.get_param_value("next");
    const std::string signed_out = req.get_param_value("signed_out");
    const LoginEntry entry =
        LoginEntryFor({r.ok(), next, signed_out, plain_http_notice(req)}, stateless);
    if (!entry.see_other.empty()) {
      SeeOther(res, entry.see_other);
    } else {
      Html(res, entry.html);
    }
  }));

  server.Post("/login", [&sessions, &accounts, origins, stateless, plain_http_notice](
                            const httplib::Request& req, httplib::Response& res) {
    LoginFormState form;
    form.email = req.get_param_value("email");
    form.next = SafeNextPath(req.get_param_value("next")).value_or("");
    form.remember_box = !stateless;
    form.remember = req.has_param("remember");
    // Before the Origin check (neither changes anything): one answer that
    // names every flag the server needs.
    if (std::string notice = plain_http_notice(req); !notice.empty()) {
      form.error = std::move(notice);
      Html(res, LoginPage(form), 403);
      return;
    }
    if (!jeff::http::AllowOrigin(req, res, origins)) return;
    const std::string password = req.get_param_value("password");
    if (form.email.empty() || !accounts.Verify(form.email, password)) {
      form.error = "Wrong email or password.";
      Html(res, LoginPage(form), 401);
      return;
    }
    auto issued = sessions.Set(form.email, DeviceName(req.get_header_value("User-Agent")),
                               LoginSetOptions(form));
    if (!issued) {
      if (jeff::IsStoreError(issued.error())) {
        StoreError(req, res, issued.error());
      } else {
        form.error = CannotSignInMessage(issued.error());
        Html(res, LoginPage(form), 400);
      }
      return;
    }
    jeff::http::AddIssued(res, *issued);
    SeeOther(res, AfterLoginPath(form.next));
  });

  // Device-bound sessions (--dbsc): the browser registers its key and
  // refreshes the short-lived bound cookie here.
  jeff::http::MountDeviceBinding(server, sessions);

  server.Get("/account", jeff::http::Wrap(sessions, [](const auto&, auto& res, const Session& s) {
    Html(res, AccountPage(s));
  }, wrap_options));

  server.Get("/sessions", jeff::http::Wrap(sessions, [&sessions](const auto& req, auto& res,
                                                                 const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list && list.error() == jeff::Errc::kUnsupported) {
      Html(res, StatelessSessionsPage(s));
      return;
    }
    if (!list) {
      StoreError(req, res, list.error());
      return;
    }
    Html(res, SessionsPage(s, *list, req.get_param_value("signed_out")));
  }, wrap_options));

  server.Post("/sessions/revoke", jeff::http::Wrap(sessions, [&sessions](const auto& req, auto& res,
                                                                         const Session& s) {
    auto id = jeff::ParseSessionId(req.get_param_value("id"));
    if (!id) {
      Html(res, NoSuchSessionPage(s), 400);
      return;
    }
    auto removed = sessions.Delete(s.key, std::span<const jeff::SessionId>(&*id, 1));
    if (!removed) {
      StoreError(req, res, removed.error());
      return;
    }
    SeeOther(res, "/sessions");
  }, wrap_options));

  server.Post("/sessions/others", jeff::http::Wrap(sessions, [&sessions](const auto& req, auto& res,
                                                                         const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list) {
      StoreError(req, res, list.error());
      return;
    }
    auto removed = sessions.Delete(s.key, OtherSessions(s, *list));
    if (!removed) {
      StoreError(req, res, removed.error());
      return;
    }
    SeeOther(res, AfterSignOutOthersPath(*removed));
  }, wrap_options));

  server.Post("/logout", [&sessions, origins](const httplib::Request& req, httplib::Response& res) {
    if (!jeff::http::AllowOrigin(req, res, origins)) return;
    auto cleared = sessions.Clear(jeff::http::CookieHeader(req));
    if (!cleared) {
      StoreError(req, res, cleared.error());
      return;
    }
    jeff::http::AddSetCookies(res, *cleared);
    SeeOther(res, "/");
  });
}

}  // namespace example
