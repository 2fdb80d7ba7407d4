#include "pages.hpp"

#include "next_path.hpp"
#include "plain_http.hpp"

#include <jeff/cookie.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace example {
namespace {

using jeff::Session;

// Fits a 390 px phone: nothing wider than the viewport (long ids and names
// wrap anywhere, table headers never inside a word), the session list
// becomes one block per device below 34rem.
constexpr std::string_view kStyle =
    "*{box-sizing:border-box}"
    "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem;color:#222}"
    "nav{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;min-height:2.2rem;"
    "border-bottom:1px solid #ddd;padding-bottom:.5rem}"
    "nav form.inline{margin-left:auto}nav button{padding:.15rem .7rem}"
    "form.inline{display:inline;margin:0}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #eee;padding:.4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
    "th{overflow-wrap:normal;white-space:nowrap}"
    "label{display:block;margin:.75rem 0}label.field input{display:block;margin-top:.2rem;width:100%;max-width:20rem}"
    "input{font:inherit;padding:.3rem}label.check{display:flex;gap:.5rem;align-items:baseline}"
    "table+form{margin-top:1rem}small{color:#666}"
    "button{font:inherit;padding:.3rem .8rem;cursor:pointer;white-space:nowrap;overflow-wrap:normal}"
    ".error{color:#b00020}.notice{background:#fff4d6;padding:.5rem}td.when{white-space:nowrap}"
    ".current{font-weight:600}code{background:#f4f4f4;padding:0 .2rem;overflow-wrap:anywhere}"
    "table.list td small{display:none}"
    "@media (max-width:34rem){table.list tr{display:block;border-bottom:1px solid #eee;padding:.4rem 0}"
    "table.list td,table.list th{display:block;border:0;padding:.1rem 0}table.list tr.head{display:none}"
    "table.list td small{display:inline}}";

std::string LoginForm(const LoginFormState& s) {
  std::string body;
  for (const std::string& notice : s.notices) {
    body += "<p class=\"notice\" role=\"status\">" + Escape(notice) + "</p>";
  }
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

}  // namespace

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

std::string AfterLoginPath(const std::string& next) { return next.empty() ? "/account" : next; }

std::string LoginPage(const LoginFormState& s) { return Page("Log in", LoginForm(s), nullptr); }

LoginEntry LoginEntryFor(const LoginQuery& query, bool stateless) {
  const std::string next = SafeNextPath(query.next).value_or("");
  if (query.signed_in) return {AfterLoginPath(next), {}};
  LoginFormState form;
  form.next = next;
  form.remember_box = !stateless;
  if (query.signed_out == "1") {
    form.notices.push_back("You were signed out: this device's session was ended or revoked. "
                           "Log in again to go on.");
  }
  if (!query.plain_http.empty()) form.notices.push_back(query.plain_http);
  return {{}, LoginPage(form)};
}

jeff::SetOptions LoginSetOptions(const LoginFormState& s) {
  jeff::SetOptions once;
  if (s.remember_box && !s.remember) once.max_age = std::chrono::seconds(0);
  return once;
}

std::string HomePage(const jeff::CheckResult& r) {
  if (r.ok()) {
    return Page("Welcome", "<p>Hello, <strong>" + Escape(r.session.key) +
                               "</strong>. You are signed in.</p>", &r.session);
  }
  return Page("Welcome", "<p>You are not signed in. <a href=\"/login\">Log in</a></p>", nullptr);
}

std::string AccountPage(const jeff::Session& s) {
  std::string body = "<p>Signed in as <strong>" + Escape(s.key) + "</strong>.</p><table>";
  body += "<tr><th>Session</th><td><code>" + jeff::FormatSessionId(s.id) + "</code></td></tr>";
  body += "<tr><th>Signed in</th><td>" + When(s.created) + "</td></tr>";
  body += "<tr><th>Expires</th><td>" + When(s.expires) + "</td></tr>";
  body += "<tr><th>Device</th><td>" + Escape(s.meta) + "</td></tr></table>";
  return Page("Account", body, &s);
}

std::string SessionsPage(const jeff::Session& s, const std::vector<jeff::Session>& list,
                         std::string_view signed_out_param) {
  std::string body;
  const bool count = !signed_out_param.empty() && signed_out_param.size() <= 6 &&
                     std::all_of(signed_out_param.begin(), signed_out_param.end(),
                                 [](char c) { return c >= '0' && c <= '9'; });
  if (count) {
    const std::string n(signed_out_param);
    body += "<p class=\"notice\" role=\"status\">Signed out " +
            (n == "1" ? std::string("1 other device") : n + " other devices") + ".</p>";
  }
  body += "<p>Devices signed in as <strong>" + Escape(s.key) + "</strong>:</p>";
  body += "<table class=\"list\"><tr class=\"head\"><th>Device</th><th>Signed in</th>"
          "<th>Last seen</th><th></th></tr>";
  for (const jeff::Session& other : list) {
    const bool current = other.id == s.id;
    body += current ? "<tr class=\"current\">" : "<tr>";
    body += "<td>" + Escape(other.meta.empty() ? "Unknown device" : other.meta) +
            (current ? " (this device)" : "") +
            (other.device_bound ? " <small class=\"bound\">bound to this device</small>" : "") + "</td>";
    body += "<td class=\"when\"><small>signed in</small> " + When(other.created) +
            "</td><td class=\"when\"><small>last seen</small> " + When(other.last_seen) + "</td><td>";
    if (!current) {
      body += "<form class=\"inline\" method=\"post\" action=\"/sessions/revoke\">"
              "<input type=\"hidden\" name=\"id\" value=\"" + jeff::FormatSessionId(other.id) +
              "\"><button type=\"submit\">Revoke</button></form>";
    }
    body += "</td></tr>";
  }
  body += "</table>";
  if (std::any_of(list.begin(), list.end(), [&s](const Session& other) { return other.id != s.id; })) {
    body += "<form method=\"post\" action=\"/sessions/others\">"
            "<button type=\"submit\">Sign out everywhere else</button></form>";
  }
  return Page("Sessions", body, &s);
}

std::string AfterSignOutOthersPath(std::size_t count) {
  return "/sessions?signed_out=" + std::to_string(count);
}

std::vector<jeff::SessionId> OtherSessions(const Session& s, const std::vector<Session>& list) {
  std::vector<jeff::SessionId> others;
  for (const Session& other : list) {
    if (other.id != s.id) others.push_back(other.id);
  }
  return others;
}

std::string StatelessSessionsPage(const jeff::Session& s) {
  return Page("Sessions",
              "<p>This server keeps each session in an encrypted cookie (stateless mode), "
              "not in a store: it has no list of your devices to show or revoke.</p>"
              "<p>Log out deletes the cookie from this browser only. The server cannot "
              "revoke it: a copy of this cookie would stay valid until it expires, " +
                  When(s.expires) + ".</p>",
              &s);
}

std::string NoSuchSessionPage(const jeff::Session& s) {
  return Page("Sessions", "<p class=\"error\">No such session.</p>", &s);
}

std::string StoreErrorPage(std::string_view method, std::string_view path) {
  return Page("Try again in a moment",
              "<p>The session store is not answering, so this page cannot tell whether you "
              "are signed in. Nothing was changed.</p><p><a href=\"" +
                  Escape(method == "GET" ? path : "/") + "\">Try again</a></p>",
              nullptr);
}

void LogStoreError(std::string_view method, std::string_view path, std::error_code ec) {
  Log("store error on " + std::string(method) + " " + std::string(path) + ": " + jeff::DescribeError(ec) +
      " (answered 503)");
}

std::string NotFoundPage() {
  return Page("Page not found", "<p>There is no page here. <a href=\"/\">Home</a></p>", nullptr);
}

std::string CannotSignInMessage(std::error_code ec) {
  return "Cannot sign in with this email: " + ec.message() + ".";
}

std::string PlainHttpNotice(bool secure_cookie, std::string_view origin_header,
                            std::string_view host_header,
                            const std::vector<std::string>& allowed_origins,
                            std::atomic<bool>& logged) {
  if (!secure_cookie) return {};
  const std::string origin = BrowserOrigin(origin_header, host_header, allowed_origins);
  if (!DropsSecureCookie(origin)) return {};
  const bool allowed =
      std::find(allowed_origins.begin(), allowed_origins.end(), origin) != allowed_origins.end();
  if (!logged.exchange(true)) {
    Log("WARNING: a browser on " + origin + " cannot keep the session cookie: it is Secure and "
        "that page is plain HTTP on a host name. Serve the app over HTTPS (e.g. behind a TLS "
        "proxy, with --origin https://...), or pass --insecure" +
        (allowed ? "" : " --origin " + origin) + " for development.");
  }
  return "Logging in cannot work at " + origin + ": this server sends its session cookie with "
         "Secure, and browsers keep Secure cookies only over HTTPS (or on localhost). Open the "
         "app over HTTPS, or, for local development only, restart the server with --insecure" +
         (allowed ? "" : " --origin " + origin) + ".";
}

Unauthorized UnauthorizedFor(std::string_view method, std::string_view path,
                             std::string_view cookie_header, const jeff::Options& options) {
  const jeff::CookieOptions& cookie = options.cookie;
  const bool stale = jeff::FindCookie(cookie_header, cookie.name).has_value();
  Unauthorized out;
  out.location = LoginPathFor(method == "GET" ? path : "/", stale);
  if (stale && !options.device_binding.enabled) out.set_cookie = jeff::BuildExpiredCookie(cookie, cookie.name);
  return out;
}

}  // namespace example
