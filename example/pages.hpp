#pragma once
// The example app's pages as HTML strings, free of any HTTP framework: the
// cpp-httplib app (app.cpp) and the Boost.Beast app (beast/) render the same
// pages from here and differ only in how requests and responses move.

#include <jeff/sessions.hpp>

#include <atomic>
#include <cstddef>
#include <optional>
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
  std::vector<std::string> notices;  // texts above the form (signed out, plain HTTP)
  std::string email;       // kept after a wrong password
  std::string next;        // where to go after logging in
  bool remember_box = false;
  bool remember = false;   // the box starts unticked
};

// Where a login goes on to: `next` when set, else the account page.
std::string AfterLoginPath(const std::string& next);

// What GET /login was asked.
struct LoginQuery {
  bool signed_in = false;
  std::string_view next;         // the `next` query parameter
  std::string_view signed_out;   // the `signed_out` query parameter ("1": say so)
  std::string plain_http;        // PlainHttpNotice's text, if any
};

// GET /login: a signed-in user goes on at once (`see_other` is set: to the
// safe `next` query parameter, else the account page); anyone else gets the
// form (`html`) with the query's notices. `stateless` hides "remember me".
struct LoginEntry {
  std::string see_other;
  std::string html;
};
LoginEntry LoginEntryFor(const LoginQuery& query, bool stateless);

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
// button for every other device and, when there is one, "Sign out everywhere
// else". `signed_out_param` is the page's `signed_out` query parameter: a
// count that "Sign out everywhere else" reports ("" or not a number: none).
std::string SessionsPage(const jeff::Session& s, const std::vector<jeff::Session>& list,
                         std::string_view signed_out_param = {});

// Where "Sign out everywhere else" goes after signing out `count` devices:
// the session list, which reports the count.
std::string AfterSignOutOthersPath(std::size_t count);

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

// The login page's notice when the browser of a request drops the app's
// Secure cookie (plain HTTP on a host name, see plain_http.hpp): why, and how
// (HTTPS, or --insecure for development, with --origin when the page's
// origin is not allowed). Logged on stderr the first time (`logged` turns
// true). Empty when `secure_cookie` is false or the cookie will be kept.
std::string PlainHttpNotice(bool secure_cookie, std::string_view origin_header,
                            std::string_view host_header,
                            const std::vector<std::string>& allowed_origins,
                            std::atomic<bool>& logged);

// Where a request for `path` (GET; other methods go back to "/") without a
// live session is sent: the login page, with signed_out=1 when it still
// carried the session cookie (its session was revoked or ended), which is
// then expired (`set_cookie`, else empty) so that the notice shows once.
// With device binding on, a session cookie without its bound cookie belongs
// to a live session the browser is about to refresh (or has just
// registered): the refresh needs that cookie, so it is never expired here.
struct Unauthorized {
  std::string location;
  std::string set_cookie;
};
Unauthorized UnauthorizedFor(std::string_view method, std::string_view path,
                             std::string_view cookie_header, const jeff::Options& options);

}  // namespace example
