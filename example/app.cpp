#include "app.hpp"

#include <jeff/csrf.hpp>
#include <jeff/http/httplib.hpp>

#include <string_view>

namespace example {
namespace {

using jeff::CheckResult;
using jeff::Session;
using jeff::Sessions;

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
  html += " · jeff example</title><style>"
          "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}"
          "nav{display:flex;gap:1rem;align-items:center;min-height:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.5rem}"
          "nav form.inline{margin-left:auto}nav button{padding:.15rem .7rem}"
          "form.inline{display:inline;margin:0}table{border-collapse:collapse;width:100%}"
          "td,th{border-bottom:1px solid #eee;padding:.4rem;text-align:left;vertical-align:top}"
          "label{display:block;margin:.75rem 0}label input{display:block;margin-top:.2rem}"
          "input{font:inherit;padding:.3rem;width:18rem}table+form{margin-top:1rem}"
          "button{font:inherit;padding:.3rem .8rem;cursor:pointer}.error{color:#b00020}"
          ".current{font-weight:600}code{background:#f4f4f4;padding:0 .2rem}"
          "</style></head><body><nav>";
  html += nav;
  html += "</nav><main><h1>";
  html += Escape(title);
  html += "</h1>";
  html += body;
  html += "</main></body></html>";
  return html;
}

std::string LoginForm(std::string_view error) {
  std::string body;
  if (!error.empty()) body += "<p class=\"error\">" + Escape(error) + "</p>";
  body += "<form method=\"post\" action=\"/login\">"
          "<label>Email <input type=\"email\" name=\"email\" autocomplete=\"username\" required></label>"
          "<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>"
          "<button type=\"submit\">Log in</button></form>";
  return body;
}

std::string When(jeff::TimePoint t) { return jeff::FormatHttpDate(t); }

void Html(httplib::Response& res, const std::string& html, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html; charset=utf-8");
}

void SeeOther(httplib::Response& res, const std::string& location) {
  res.set_redirect(location, 303);
}

}  // namespace

void MountRoutes(httplib::Server& server, Sessions& sessions, const Accounts& accounts,
                 const AppConfig& config) {
  jeff::http::HttplibOptions wrap_options;
  wrap_options.allowed_origins = config.allowed_origins;
  const std::vector<std::string> origins = config.allowed_origins;

  server.Get("/", jeff::http::Public(sessions, [](const auto&, auto& res, const CheckResult& r) {
    if (r.status == jeff::CheckStatus::kStoreError) {
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
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

  server.Get("/login", [](const httplib::Request&, httplib::Response& res) {
    Html(res, Page("Log in", LoginForm(""), nullptr));
  });

  server.Post("/login", [&sessions, &accounts, origins](const httplib::Request& req,
                                                        httplib::Response& res) {
    if (!jeff::http::AllowOrigin(req, res, origins)) return;
    const std::string email = req.get_param_value("email");
    const std::string password = req.get_param_value("password");
    if (email.empty() || !accounts.Verify(email, password)) {
      Html(res, Page("Log in", LoginForm("Wrong email or password."), nullptr), 401);
      return;
    }
    std::string device = req.get_header_value("User-Agent");
    if (device.size() > 200) device.resize(200);
    auto issued = sessions.Set(email, device);
    if (!issued) {
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
      return;
    }
    jeff::http::AddSetCookies(res, issued->set_cookie);
    SeeOther(res, "/account");
  });

  server.Get("/account", jeff::http::Wrap(sessions, [](const auto&, auto& res, const Session& s) {
    std::string body = "<p>Signed in as <strong>" + Escape(s.key) + "</strong>.</p><table>";
    body += "<tr><th>Session</th><td><code>" + jeff::FormatSessionId(s.id) + "</code></td></tr>";
    body += "<tr><th>Signed in</th><td>" + When(s.created) + "</td></tr>";
    body += "<tr><th>Expires</th><td>" + When(s.expires) + "</td></tr>";
    body += "<tr><th>Device</th><td>" + Escape(s.meta) + "</td></tr></table>";
    Html(res, Page("Account", body, &s));
  }, wrap_options));

  server.Get("/sessions", jeff::http::Wrap(sessions, [&sessions](const auto&, auto& res,
                                                                 const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list && list.error() == jeff::Errc::kUnsupported) {
      Html(res, Page("Sessions", "<p>This server keeps sessions in encrypted cookies "
                                 "(stateless mode): there is no list of devices to show or "
                                 "revoke. Log out ends this session.</p>", &s));
      return;
    }
    if (!list) {
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
      return;
    }
    std::string body = "<p>Devices signed in as <strong>" + Escape(s.key) + "</strong>:</p>";
    body += "<table><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th></th></tr>";
    for (const Session& other : *list) {
      const bool current = other.id == s.id;
      body += current ? "<tr class=\"current\">" : "<tr>";
      body += "<td>" + Escape(other.meta.empty() ? "unknown device" : other.meta) +
              (current ? " (this device)" : "") + "</td>";
      body += "<td>" + When(other.created) + "</td><td>" + When(other.last_seen) + "</td><td>";
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
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
      return;
    }
    SeeOther(res, "/sessions");
  }, wrap_options));

  server.Post("/sessions/others", jeff::http::Wrap(sessions, [&sessions](const auto&, auto& res,
                                                                         const Session& s) {
    auto list = sessions.SessionsForKey(s.key);
    if (!list) {
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
      return;
    }
    std::vector<jeff::SessionId> others;
    for (const Session& other : *list) {
      if (other.id != s.id) others.push_back(other.id);
    }
    if (!sessions.Delete(s.key, others)) {
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
      return;
    }
    SeeOther(res, "/sessions");
  }, wrap_options));

  server.Post("/logout", [&sessions, origins](const httplib::Request& req, httplib::Response& res) {
    if (!jeff::http::AllowOrigin(req, res, origins)) return;
    auto cleared = sessions.Clear(jeff::http::CookieHeader(req));
    if (!cleared) {
      jeff::http::StoreUnavailable(res, std::chrono::seconds(1));
      return;
    }
    jeff::http::AddSetCookies(res, *cleared);
    SeeOther(res, "/");
  });
}

}  // namespace example
