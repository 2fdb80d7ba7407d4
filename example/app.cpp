#include "app.hpp"

#include "device_name.hpp"
#include "next_path.hpp"

#include <jeff/csrf.hpp>
#include <jeff/http/httplib.hpp>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string_view>

namespace example {
namespace {

using jeff::CheckResult;
using jeff::Session;
using jeff::Sessions;

void Log(const std::string& line) { std::fprintf(stderr, "jeff-example: %s\n", line.c_str()); }

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Fits a 390 px phone: nothing wider than the viewport (long ids and names
// wrap anywhere), the session list becomes one block per device below 34rem.
constexpr std::string_view kStyle =
    "*{box-sizing:border-box}"
    "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem;color:#222}"
    "nav{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;min-height:2.2rem;"
    "border-bottom:1px solid #ddd;padding-bottom:.5rem}"
    "nav form.inline{margin-left:auto}nav button{padding:.15rem .7rem}"
    "form.inline{display:inline;margin:0}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #eee;padding:.4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
    "label{display:block;margin:.75rem 0}label.field input{display:block;margin-top:.2rem;width:100%;max-width:20rem}"
    "input{font:inherit;padding:.3rem}label.check{display:flex;gap:.5rem;align-items:baseline}"
    "table+form{margin-top:1rem}small{color:#666}"
    "button{font:inherit;padding:.3rem .8rem;cursor:pointer;white-space:nowrap;overflow-wrap:normal}"
    ".error{color:#b00020}td.when{white-space:nowrap}"
    ".current{font-weight:600}code{background:#f4f4f4;padding:0 .2rem;overflow-wrap:anywhere}"
    "table.list td small{display:none}"
    "@media (max-width:34rem){table.list tr{display:block;border-bottom:1px solid #eee;padding:.4rem 0}"
    "table.list td,table.list th{display:block;border:0;padding:.1rem 0}table.list tr.head{display:none}"
    "table.list td small{display:inline}}";

std::string Page(std::string_view title, std::string_view body, const Session* user) {
  std::string nav = "<a href=\"/\">Home</a>";
  if (user != nullptr) {
    nav += " <a href=\"/account\">Account</a> <a href=\"/sessions\">Sessions</a>"
           " <form class=\"inline\" method=\"post\" action=\"/logout\">"
           "<button type=\"submit\">Log out</button></form>";
  } else {
    nav += " <a href=\"/login\">Log in</a>";
  }
  std::string html;
  html += "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
  html += Escape(title);
  html += " · jeff example</title><style>";
  html += kStyle;
  html += "</style></head><body><nav>";
  html += nav;
  html += "</nav><main><h1>";
  html += Escape(title);
  html += "</h1>";
  html += body;
  html += "</main></body></html>";
  return html;
}

struct LoginFormState {
  std::string error;
  std::string email;       // kept after a wrong password
  std::string next;        // where to go after logging in
  bool remember_box = false;
  bool remember = true;
};

std::string LoginForm(const LoginFormState& s) {
  std::string body;
  if (!s.error.empty()) body += "<p class=\"error\" role=\"alert\">" + Escape(s.error) + "</p>";
  body += "<form method=\"post\" action=\"/login\">";
  if (!s.next.empty()) body += "<input type=\"hidden\" name=\"next\" value=\"" + Escape(s.next) + "\">";
  body += "<label class=\"field\">Email <input type=\"email\" name=\"email\" autocomplete=\"username\" required";
  body += s.email.empty() ? " autofocus>" : " value=\"" + Escape(s.email) + "\">";
  body += "</label><label class=\"field\">Password <input type=\"password\" name=\"password\" "
          "autocomplete=\"current-password\" required";
  body += s.email.empty() ? ">" : " autofocus>";
  body += "</label>";
  if (s.remember_box) {
    body += "<label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"1\"";
    body += s.remember ? " checked>" : ">";
    body += "<span>Remember me <small>(otherwise you are signed out when the browser "
            "closes)</small></span></label>";
  }
  body += "<button type=\"submit\">Log in</button></form>";
  return body;
}

// "2026-12-01 23:40 UTC": short enough for a phone.
std::string When(jeff::TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

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
  Log("store error on " + req.method + " " + req.path + ": " + ec.message() + " (answered 503)");
  if (!res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  Html(res, Page("Try again in a moment",
                 "<p>The session store is not answering, so this page cannot tell whether you "
                 "are signed in. Nothing was changed.</p><p><a href=\"" +
                     Escape(req.method == "GET" ? req.path : "/") + "\">Try again</a></p>",
                 nullptr),
       503);
}

bool IsStateless(const Sessions& sessions) {
  const jeff::Options& o = sessions.options();
  return o.strategy == jeff::SessionStrategy::kStateless ||
         (o.strategy == jeff::SessionStrategy::kAuto && o.store == nullptr);
}

bool IsLoopback(std::string_view address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

}  // namespace

std::string SecureCookieOverHttpWarning() {
  return "WARNING: the session cookie is Secure and this server speaks plain HTTP: browsers on "
         "other machines will not send the cookie back, so their logins will not stick. Serve "
         "the app over HTTPS (e.g. behind a TLS proxy, with --origin https://...), or pass "
         "--insecure for development.";
}

void MountRoutes(httplib::Server& server, Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config) {
  jeff::http::HttplibOptions wrap_options;
  wrap_options.allowed_origins = config.allowed_origins;
  wrap_options.on_store_error = StoreError;
  // Back to the page asked for after logging in.
  wrap_options.on_unauthorized = [](const httplib::Request& req, httplib::Response& res) {
    res.set_redirect(LoginPathFor(req.method == "GET" ? req.path : "/"), 302);
  };
  const std::vector<std::string> origins = config.allowed_origins;
  const bool stateless = IsStateless(sessions);
  auto warned_plain_http = std::make_shared<std::atomic<bool>>(!config.warn_secure_over_http);

  // Called for every answer >= 400; only an empty 404 (no route) gets a page.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (res.status != 404 || !res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        Html(res, Page("Page not found", "<p>There is no page here. <a href=\"/\">Home</a></p>", nullptr),
             404);
        return httplib::Server::HandlerResponse::Handled;
      }));

  server.Get("/", jeff::http::Public(sessions, [](const auto& req, auto& res, const CheckResult& r) {
    if (r.status == jeff::CheckStatus::kStoreError) {
      StoreError(req, res, r.error);
      return;
    }
    if (r.ok()) {
      Html(res, Page("Welcome", "<p>Hello, <strong>" + Escape(r.session.key) +
                                    "</strong>. You are signed in.</p>", &r.session));
    } else {
      Html(res, Page("Welcome", "<p>You are not signed in. <a href=\"/login\">Log in</a></p>",
                     nullptr));
    }
  }));

  server.Get("/login", jeff::http::Public(sessions, [stateless](const auto& req, auto& res,
                                                                const CheckResult& r) {
    const std::string next = SafeNextPath(req.get_param_value("next")).value_or("");
    if (r.ok()) {  // already signed in
      SeeOther(res, next.empty() ? "/account" : next);
      return;
    }
    LoginFormState form;
    form.next = next;
    form.remember_box = !stateless;
    Html(res, Page("Log in", LoginForm(form), nullptr));
  }));

  server.Post("/login", [&sessions, &accounts, origins, stateless, warned_plain_http](
                            const httplib::Request& req, httplib::Response& res) {
    if (!jeff::http::AllowOrigin(req, res, origins)) return;
    LoginFormState form;
    form.email = req.get_param_value("email");
    form.next = SafeNextPath(req.get_param_value("next")).value_or("");
    form.remember_box = !stateless;
    form.remember = req.has_param("remember");
    const std::string password = req.get_param_value("password");
    if (form.email.empty() || !accounts.Verify(form.email, password)) {
      form.error = "Wrong email or password.";
      Html(res, Page("Log in", LoginForm(form), nullptr), 401);
      return;
    }
    // Not ticked: a browser-session cookie (the server ends it after
    // Options::session_cookie_lifetime); ticked: Options::max_age.
    jeff::SetOptions once;
    if (form.remember_box && !form.remember) once.max_age = std::chrono::seconds(0);
    auto issued = sessions.Set(form.email, DeviceName(req.get_header_value("User-Agent")), once);
    if (!issued) {
      if (jeff::IsStoreError(issued.error())) {
        StoreError(req, res, issued.error());
      } else {
        form.error = "Cannot sign in with this email: " + issued.error().message() + ".";
        Html(res, Page("Log in", LoginForm(form), nullptr), 400);
      }
      return;
    }
    if (!IsLoopback(req.remote_addr) && req.get_header_value("Origin").rfind("https://", 0) != 0 &&
        !warned_plain_http->exchange(true)) {
      Log(req.remote_addr + " logged in. " + SecureCookieOverHttpWarning());
    }
    jeff::http::AddSetCookies(res, issued->set_cookie);
    SeeOther(res, form.next.empty() ? "/account" : form.next);
  });

  server.Get("/account", jeff::http::Wrap(sessions, [](const auto&, auto& res, const Session& s) {
    std::string body = "<p>Signed in as <strong>" + Escape(s.key) + "</strong>.</p><table>";
    body += "<tr><th>Session</th><td><code>" + jeff::FormatSessionId(s.id) + "</code></td></tr>";
    body += "<tr><th>Signed in</th><td>" + When(s.created) + "</td></tr>";
    body += "<tr><th>Expires</th><td>" + When(s.expires) + "</td></tr>";
    body += "<tr><th>Device</th><td>" + Escape(s.meta) + "</td></tr></table>";
    Html(res, Page("Account", body, &s));
  }, wrap_options));

  server.Get("/sessions", jeff::http::Wrap(sessions, [&sessions](const auto& req, auto& res,
                                                                 const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list && list.error() == jeff::Errc::kUnsupported) {
      Html(res, Page("Sessions",
                     "<p>This server keeps each session in an encrypted cookie (stateless mode), "
                     "not in a store: it has no list of your devices to show or revoke.</p>"
                     "<p>Log out deletes the cookie from this browser only. The server cannot "
                     "revoke it: a copy of this cookie would stay valid until it expires, " +
                         When(s.expires) + ".</p>",
                     &s));
      return;
    }
    if (!list) {
      StoreError(req, res, list.error());
      return;
    }
    std::string body = "<p>Devices signed in as <strong>" + Escape(s.key) + "</strong>:</p>";
    body += "<table class=\"list\"><tr class=\"head\"><th>Device</th><th>Signed in</th>"
            "<th>Last seen</th><th></th></tr>";
    for (const Session& other : *list) {
      const bool current = other.id == s.id;
      body += current ? "<tr class=\"current\">" : "<tr>";
      body += "<td>" + Escape(other.meta.empty() ? "Unknown device" : other.meta) +
              (current ? " (this device)" : "") + "</td>";
      body += "<td class=\"when\"><small>signed in</small> " + When(other.created) +
              "</td><td class=\"when\"><small>last seen</small> " + When(other.last_seen) + "</td><td>";
      if (!current) {
        body += "<form class=\"inline\" method=\"post\" action=\"/sessions/revoke\">"
                "<input type=\"hidden\" name=\"id\" value=\"" + jeff::FormatSessionId(other.id) +
                "\"><button type=\"submit\">Revoke</button></form>";
      }
      body += "</td></tr>";
    }
    body += "</table><form method=\"post\" action=\"/sessions/others\">"
            "<button type=\"submit\">Sign out everywhere else</button></form>";
    Html(res, Page("Sessions", body, &s));
  }, wrap_options));

  server.Post("/sessions/revoke", jeff::http::Wrap(sessions, [&sessions](const auto& req, auto& res,
                                                                         const Session& s) {
    auto id = jeff::ParseSessionId(req.get_param_value("id"));
    if (!id) {
      Html(res, Page("Sessions", "<p class=\"error\">No such session.</p>", &s), 400);
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
    std::vector<jeff::SessionId> others;
    for (const Session& other : *list) {
      if (other.id != s.id) others.push_back(other.id);
    }
    if (auto removed = sessions.Delete(s.key, others); !removed) {
      StoreError(req, res, removed.error());
      return;
    }
    SeeOther(res, "/sessions");
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
