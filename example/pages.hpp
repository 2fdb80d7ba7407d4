#pragma once
// The example app's pages as HTML strings, free of any HTTP framework: the
// cpp-httplib app (app.cpp) and the Boost.Beast app (beast/) render the same
// pages from here and differ only in how requests and responses move.

#include <jeff/sessions.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace example {

// Writes "jeff-example: <line>" to stderr.
void Log(const std::string& line);

// `s` with & < > " ' escaped for HTML text and attribute values.
std::string Escape(std::string_view s);

// A whole page: the navigation (for `user` when signed in, else a login
// link), `title` as heading and `body` (HTML) below it.
std::string Page(std::string_view title, std::string_view body, const jeff::Session* user);

// What the login form shows.
struct LoginFormState {
  std::string error;
  std::string email;       // kept after a wrong password
  std::string next;        // where to go after logging in
  bool remember_box = false;
  bool remember = true;
};

// Where a login goes on to: `next` when set, else the account page.
std::string AfterLoginPath(const std::string& next);

// GET /login: a signed-in user goes on at once (`see_other` is set: to the
// safe `next` query parameter, else the account page); anyone else gets the
// form (`html`). `stateless` hides "remember me".
struct LoginEntry {
  std::string see_other;
  std::string html;
};
LoginEntry LoginEntryFor(bool signed_in, std::string_view next_param, bool stateless);

// The login page (its form, and `s.error` above it).
std::string LoginPage(const LoginFormState& s);

// The once-per-login choice of the form: without "remember me" (when the box
// is shown), a browser-session cookie that the server ends after
// Options::session_cookie_lifetime; with it, Options::max_age.
jeff::SetOptions LoginSetOptions(const LoginFormState& s);

// The home page for what Check found (not kStoreError).
std::string HomePage(const jeff::CheckResult& checked);

// The account page of `s`.
std::string AccountPage(const jeff::Session& s);

// The session list of `s.key` (`list`, one of which is `s`) with a revoke
// button for every other device and "Sign out everywhere else".
std::string SessionsPage(const jeff::Session& s, const std::vector<jeff::Session>& list);

// The ids of `list` other than `s` ("Sign out everywhere else").
std::vector<jeff::SessionId> OtherSessions(const jeff::Session& s,
                                           const std::vector<jeff::Session>& list);

// The sessions page in stateless mode: there is no list to show.
std::string StatelessSessionsPage(const jeff::Session& s);

// The sessions page after a revoke of an id that does not parse.
std::string NoSuchSessionPage(const jeff::Session& s);

// The page of a 503: the store did not answer for `method` `path`.
std::string StoreErrorPage(std::string_view method, std::string_view path);

// Logs a store failure on `method` `path` (answered 503).
void LogStoreError(std::string_view method, std::string_view path, std::error_code ec);

// The page of a 404.
std::string NotFoundPage();

// The error shown when Set refuses the email itself (not a store failure).
std::string CannotSignInMessage(std::error_code ec);

// True for a loopback client address (127.x, ::1, ::ffff:127.x).
bool IsLoopback(std::string_view address);

// The warning for a Secure session cookie served over plain HTTP to another
// machine (its browser drops the cookie): names HTTPS and --insecure.
std::string SecureCookieOverHttpWarning();

}  // namespace example
