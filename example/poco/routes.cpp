#include "routes.hpp"

#include "../device_name.hpp"
#include "../next_path.hpp"
#include "../pages.hpp"

#include <jeff/metrics.hpp>

#include <Poco/Net/HTMLForm.h>

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace example::poco {
namespace {

namespace jp = jeff::http::poco;
using jeff::CheckResult;
using jeff::Session;
using jp::Request;
using jp::Response;
using Status = Poco::Net::HTTPResponse::HTTPStatus;

void Html(Response& res, const std::string& html, Status status = Status::HTTP_OK) {
  res.setStatusAndReason(status);
  if (!res.has("Cache-Control")) res.set("Cache-Control", "no-store");
  jp::Send(res, html, "text/html; charset=utf-8");
}

void SeeOther(Response& res, const std::string& location) {
  res.setStatusAndReason(Status::HTTP_SEE_OTHER);
  res.set("Location", location);
  jp::Send(res, {});
}

std::string Path(const Request& req) {
  const std::string& uri = req.getURI();
  return uri.substr(0, uri.find('?'));
}

// The store failed: logged to stderr, answered 503 in the app's style.
void StoreError(Request& req, Response& res, std::error_code ec) {
  LogStoreError(req.getMethod(), Path(req), ec);
  if (!res.has("Retry-After")) res.set("Retry-After", "1");
  Html(res, StoreErrorPage(req.getMethod(), Path(req)), Status::HTTP_SERVICE_UNAVAILABLE);
}

// The query string's fields (GET) or the url-encoded body's (POST).
std::unique_ptr<Poco::Net::HTMLForm> FormOf(Request& req) {
  return std::make_unique<Poco::Net::HTMLForm>(req, req.stream());
}

std::string Param(const Poco::Net::HTMLForm& form, const std::string& name) {
  return form.get(name, std::string());
}

}  // namespace

void MountRoutes(jp::Router& router, jeff::Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config) {
  jp::PocoOptions wrap_options;
  wrap_options.allowed_origins = config.allowed_origins;
  wrap_options.on_store_error = StoreError;
  // Back to the page asked for after logging in; "you were signed out" when
  // the request still carried a session cookie.
  wrap_options.on_unauthorized = [&sessions](Request& req, Response& res) {
    const Unauthorized to =
        UnauthorizedFor(req.getMethod(), Path(req), jp::CookieHeader(req), sessions.options());
    if (!to.set_cookie.empty()) res.add("Set-Cookie", to.set_cookie);
    res.setStatusAndReason(Status::HTTP_FOUND);
    res.set("Location", to.location);
  };
  const std::vector<std::string> origins = config.allowed_origins;
  const bool stateless = config.stateless;
  // A browser on plain HTTP drops the Secure cookie: the login page says so.
  auto plain_http_logged = std::make_shared<std::atomic<bool>>(false);
  auto plain_http_notice = [&sessions, origins, plain_http_logged](const Request& req) {
    return PlainHttpNotice(sessions.options().cookie.secure, req.get("Origin", std::string()),
                           req.get("Host", std::string()), origins, *plain_http_logged);
  };

  router.not_found = [](Request&, Response& res) {
    Html(res, NotFoundPage(), Status::HTTP_NOT_FOUND);
  };

  if (config.metrics) {
    // The Prometheus text exposition format, version 0.0.4.
    router.Add("GET", "/metrics", [&sessions](Request&, Response& res) {
      jp::Send(res, jeff::WritePrometheus(sessions.metrics()),
               "text/plain; version=0.0.4; charset=utf-8");
    });
  }

  router.Add("GET", "/", jp::Public(sessions, [](Request& req, Response& res, const CheckResult& r) {
    if (r.status == jeff::CheckStatus::kStoreError) {
      StoreError(req, res, r.error);
    } else {
      Html(res, HomePage(r));
    }
  }));

  router.Add("GET", "/login", jp::Public(sessions, [stateless, plain_http_notice](
                                                     Request& req, Response& res,
                                                     const CheckResult& r) {
    const auto query = FormOf(req);
    const std::string next = Param(*query, "next");
    const std::string signed_out = Param(*query, "signed_out");
    const LoginEntry entry =
        LoginEntryFor({r.ok(), next, signed_out, plain_http_notice(req)}, stateless);
    if (!entry.see_other.empty()) {
      SeeOther(res, entry.see_other);
    } else {
      Html(res, entry.html);
    }
  }));

  router.Add("POST", "/login", [&sessions, &accounts, origins, stateless, plain_http_notice](
                                   Request& req, Response& res) {
    const auto params = FormOf(req);
    LoginFormState form;
    form.email = Param(*params, "email");
    form.next = SafeNextPath(Param(*params, "next")).value_or("");
    form.remember_box = !stateless;
    form.remember = params->has("remember");
    // Before the Origin check (neither changes anything): one answer that
    // names every flag the server needs.
    if (std::string notice = plain_http_notice(req); !notice.empty()) {
      form.error = std::move(notice);
      Html(res, LoginPage(form), Status::HTTP_FORBIDDEN);
      return;
    }
    if (!jp::AllowOrigin(req, res, origins)) return;
    const std::string password = Param(*params, "password");
    if (form.email.empty() || !accounts.Verify(form.email, password)) {
      form.error = "Wrong email or password.";
      Html(res, LoginPage(form), Status::HTTP_UNAUTHORIZED);
      return;
    }
    auto issued = sessions.Set(form.email, DeviceName(req.get("User-Agent", std::string())),
                               LoginSetOptions(form));
    if (!issued) {
      if (jeff::IsStoreError(issued.error())) {
        StoreError(req, res, issued.error());
      } else {
        form.error = CannotSignInMessage(issued.error());
        Html(res, LoginPage(form), Status::HTTP_BAD_REQUEST);
      }
      return;
    }
    jp::AddIssued(res, *issued);
    SeeOther(res, AfterLoginPath(form.next));
  });

  // Device-bound sessions (--dbsc): the browser registers its key and
  // refreshes the short-lived bound cookie here.
  for (auto& [path, route] : jp::DeviceBindingRoutes(sessions)) router.Add("POST", path, std::move(route));

  router.Add("GET", "/account", jp::Wrap(sessions, [](Request&, Response& res, const Session& s) {
    Html(res, AccountPage(s));
  }, wrap_options));

  router.Add("GET", "/sessions", jp::Wrap(sessions, [&sessions](Request& req, Response& res,
                                                                const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list && list.error() == jeff::Errc::kUnsupported) {
      Html(res, StatelessSessionsPage(s));
    } else if (!list) {
      StoreError(req, res, list.error());
    } else {
      Html(res, SessionsPage(s, *list, Param(*FormOf(req), "signed_out")));
    }
  }, wrap_options));

  router.Add("POST", "/sessions/revoke", jp::Wrap(sessions, [&sessions](Request& req, Response& res,
                                                                        const Session& s) {
    auto id = jeff::ParseSessionId(Param(*FormOf(req), "id"));
    if (!id) {
      Html(res, NoSuchSessionPage(s), Status::HTTP_BAD_REQUEST);
      return;
    }
    auto removed = sessions.Delete(s.key, std::span<const jeff::SessionId>(&*id, 1));
    if (!removed) {
      StoreError(req, res, removed.error());
    } else {
      SeeOther(res, "/sessions");
    }
  }, wrap_options));

  router.Add("POST", "/sessions/others", jp::Wrap(sessions, [&sessions](Request& req, Response& res,
                                                                        const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list) {
      StoreError(req, res, list.error());
      return;
    }
    if (auto removed = sessions.Delete(s.key, OtherSessions(s, *list)); !removed) {
      StoreError(req, res, removed.error());
    } else {
      SeeOther(res, AfterSignOutOthersPath(*removed));
    }
  }, wrap_options));

  router.Add("POST", "/logout", [&sessions, origins](Request& req, Response& res) {
    if (!jp::AllowOrigin(req, res, origins)) return;
    auto cleared = sessions.Clear(jp::CookieHeader(req));
    if (!cleared) {
      StoreError(req, res, cleared.error());
    } else {
      jp::AddSetCookies(res, *cleared);
      SeeOther(res, "/");
    }
  });
}

}  // namespace example::poco
