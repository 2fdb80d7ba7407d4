#include "routes.hpp"

#include "form.hpp"

#include "../device_name.hpp"
#include "../next_path.hpp"
#include "../pages.hpp"

#include <jeff/http/beast.hpp>
#include <jeff/metrics.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace example::beast {
namespace {

namespace http = boost::beast::http;
namespace jb = jeff::http::beast;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using jeff::CheckResult;
using jeff::Session;

void Html(Response& res, const std::string& html, http::status status = http::status::ok) {
  res.result(status);
  if (res.find(http::field::cache_control) == res.end()) res.set(http::field::cache_control, "no-store");
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.body() = html;
}

void SeeOther(Response& res, const std::string& location) {
  res.result(http::status::see_other);
  res.set(http::field::location, location);
}

std::string Method(const Request& req) { return std::string(req.method_string()); }

std::string Path(const Request& req) { return std::string(PathOf(TargetOf(req))); }

std::string Header(const Request& req, http::field name) {
  const auto value = req[name];
  return std::string(value.data(), value.size());
}

// The store failed: logged to stderr, answered 503 in the app's style.
void StoreError(const Request& req, Response& res, std::error_code ec) {
  LogStoreError(Method(req), Path(req), ec);
  if (res.find(http::field::retry_after) == res.end()) res.set(http::field::retry_after, "1");
  Html(res, StoreErrorPage(Method(req), Path(req)), http::status::service_unavailable);
}

Form BodyForm(const Request& req) { return ParseForm(req.body()); }

Form QueryForm(const Request& req) { return ParseForm(QueryOf(TargetOf(req))); }

}  // namespace

void MountRoutes(Router& router, jeff::AsyncSessions& sessions, const Accounts& accounts,
                 const AppConfig& config, boost::asio::any_io_executor hash_executor) {
  jb::BeastOptions wrap_options;
  wrap_options.allowed_origins = config.allowed_origins;
  wrap_options.on_store_error = StoreError;
  // Back to the page asked for after logging in; "you were signed out" when
  // the request still carried a session cookie.
  wrap_options.on_unauthorized = [&sessions](const Request& req, Response& res) {
    const Unauthorized to =
        UnauthorizedFor(Method(req), Path(req), jb::CookieHeader(req), sessions.options());
    if (!to.set_cookie.empty()) res.insert(http::field::set_cookie, to.set_cookie);
    res.result(http::status::found);
    res.set(http::field::location, to.location);
  };
  const std::vector<std::string> origins = config.allowed_origins;
  const bool stateless = config.stateless;
  // A browser on plain HTTP drops the Secure cookie: the login page says so.
  auto plain_http_logged = std::make_shared<std::atomic<bool>>(false);
  auto plain_http_notice = [&sessions, origins, plain_http_logged](const Request& req) {
    return PlainHttpNotice(sessions.options().cookie.secure, Header(req, http::field::origin),
                           Header(req, http::field::host), origins, *plain_http_logged);
  };

  router.SetNotFound([](const Request&, Response& res) -> awaitable<void> {
    Html(res, NotFoundPage(), http::status::not_found);
    co_return;
  });

  if (config.metrics) {
    // The Prometheus text exposition format, version 0.0.4.
    router.Add(http::verb::get, "/metrics", [&sessions](const Request&, Response& res) -> awaitable<void> {
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = jeff::WritePrometheus(sessions.metrics());
      co_return;
    });
  }

  router.Add(http::verb::get, "/",
             jb::Public(sessions, [](const Request& req, Response& res,
                                     const CheckResult& r) -> awaitable<void> {
               if (r.status == jeff::CheckStatus::kStoreError) {
                 StoreError(req, res, r.error);
               } else {
                 Html(res, HomePage(r));
               }
               co_return;
             }));

  router.Add(http::verb::get, "/login",
             jb::Public(sessions, [stateless, plain_http_notice](
                                      const Request& req, Response& res,
                                      const CheckResult& r) -> awaitable<void> {
               const Form query = QueryForm(req);
               const std::string next = Param(query, "next");
               const std::string signed_out = Param(query, "signed_out");
               const LoginEntry entry =
                   LoginEntryFor({r.ok(), next, signed_out, plain_http_notice(req)}, stateless);
               if (!entry.see_other.empty()) {
                 SeeOther(res, entry.see_other);
               } else {
                 Html(res, entry.html);
               }
               co_return;
             }));

  router.Add(http::verb::post, "/login",
             AppHandler([&sessions, &accounts, origins, stateless, plain_http_notice, hash_executor](
                            const Request& req, Response& res, const std::string&) -> awaitable<void> {
               const Form params = BodyForm(req);
               LoginFormState form;
               form.email = Param(params, "email");
               form.next = SafeNextPath(Param(params, "next")).value_or("");
               form.remember_box = !stateless;
               form.remember = params.count("remember") != 0;
               // Before the Origin check (neither changes anything): one
               // answer that names every flag the server needs.
               if (std::string notice = plain_http_notice(req); !notice.empty()) {
                 form.error = std::move(notice);
                 Html(res, LoginPage(form), http::status::forbidden);
                 co_return;
               }
               if (!jb::AllowOrigin(req, res, origins)) co_return;
               const std::string password = Param(params, "password");
               // Argon2 off the loop, then back on it.
               auto loop = co_await boost::asio::this_coro::executor;
               co_await boost::asio::post(hash_executor, use_awaitable);
               const bool verified = !form.email.empty() && accounts.Verify(form.email, password);
               co_await boost::asio::post(loop, use_awaitable);
               if (!verified) {
                 form.error = "Wrong email or password.";
                 Html(res, LoginPage(form), http::status::unauthorized);
                 co_return;
               }
               const std::string user_agent(req[http::field::user_agent]);
               auto issued = co_await sessions.Set(form.email, DeviceName(user_agent),
                                                   LoginSetOptions(form), use_awaitable);
               if (!issued) {
                 if (jeff::IsStoreError(issued.error())) {
                   StoreError(req, res, issued.error());
                 } else {
                   form.error = CannotSignInMessage(issued.error());
                   Html(res, LoginPage(form), http::status::bad_request);
                 }
                 co_return;
               }
               jb::AddIssued(res, *issued);
               SeeOther(res, AfterLoginPath(form.next));
             }));

  // Device-bound sessions (--dbsc): the browser registers its key and
  // refreshes the short-lived bound cookie here.
  for (auto& [path, handler] : jb::DeviceBindingRoutes(sessions)) {
    router.Add(http::verb::post, std::move(path), std::move(handler));
  }

  router.Add(http::verb::get, "/account",
             jb::Wrap(sessions, [](const Request&, Response& res, const Session& s) -> awaitable<void> {
               Html(res, AccountPage(s));
               co_return;
             }, wrap_options));

  router.Add(http::verb::get, "/sessions",
             jb::Wrap(sessions, [&sessions](const Request& req, Response& res,
                                            const Session& s) -> awaitable<void> {
               auto list = co_await sessions.SessionsForKey(s.key, use_awaitable);
               if (!list && list.error() == jeff::Errc::kUnsupported) {
                 Html(res, StatelessSessionsPage(s));
               } else if (!list) {
                 StoreError(req, res, list.error());
               } else {
                 Html(res, SessionsPage(s, *list, Param(QueryForm(req), "signed_out")));
               }
             }, wrap_options));

  router.Add(http::verb::post, "/sessions/revoke",
             jb::Wrap(sessions, [&sessions](const Request& req, Response& res,
                                            const Session& s) -> awaitable<void> {
               auto id = jeff::ParseSessionId(Param(BodyForm(req), "id"));
               if (!id) {
                 Html(res, NoSuchSessionPage(s), http::status::bad_request);
                 co_return;
               }
               auto removed = co_await sessions.Delete(
                   s.key, std::span<const jeff::SessionId>(&*id, 1), use_awaitable);
               if (!removed) {
                 StoreError(req, res, removed.error());
               } else {
                 SeeOther(res, "/sessions");
               }
             }, wrap_options));

  router.Add(http::verb::post, "/sessions/others",
             jb::Wrap(sessions, [&sessions](const Request& req, Response& res,
                                            const Session& s) -> awaitable<void> {
               auto list = co_await sessions.SessionsForKey(s.key, use_awaitable);
               if (!list) {
                 StoreError(req, res, list.error());
                 co_return;
               }
               const std::vector<jeff::SessionId> others = OtherSessions(s, *list);
               auto removed = co_await sessions.Delete(s.key, others, use_awaitable);
               if (!removed) {
                 StoreError(req, res, removed.error());
               } else {
                 SeeOther(res, AfterSignOutOthersPath(*removed));
               }
             }, wrap_options));

  router.Add(http::verb::post, "/logout",
             jb::Handler([&sessions, origins](const Request& req, Response& res) -> awaitable<void> {
               if (!jb::AllowOrigin(req, res, origins)) co_return;
               auto cleared = co_await sessions.Clear(jb::CookieHeader(req), use_awaitable);
               if (!cleared) {
                 StoreError(req, res, cleared.error());
               } else {
                 jb::AddSetCookies(res, *cleared);
                 SeeOther(res, "/");
               }
             }));
}

}  // namespace example::beast
