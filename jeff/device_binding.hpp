#pragma once
/// \file
/// Device Bound Session Credentials (DBSC, W3C WebAppSec): a session whose
/// browser holds a private key that cannot be exported. After login
/// (Sessions::Set) the browser registers the key; from then on a request is
/// in only with a short-lived "bound" cookie, which the browser renews at
/// the refresh endpoint by signing a fresh challenge. A copied cookie jar
/// stops working once its bound cookie expires. See docs/design.md, "DBSC".

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace jeff {

/// Options::device_binding. Validated with the rest of Options.
struct DeviceBindingOptions {
  /// Off (the default): no registration header, no bound cookie, Check and
  /// every record exactly as without DBSC (a record bound while it was on
  /// is then served by the session cookie alone). On: the stateful strategy
  /// only (a stateless Sessions refuses these options).
  bool enabled = false;
  /// Where the browser registers its key (POST): Sessions::RegisterDevice.
  /// An absolute path ('/' first), printable ASCII without '"', '\\',
  /// spaces, ';' or ','.
  std::string registration_path = "/.well-known/dbsc/start";
  /// Where the browser renews the bound cookie (POST):
  /// Sessions::RefreshDevice. Same rules as registration_path.
  std::string refresh_path = "/.well-known/dbsc/refresh";
  /// Name of the short-lived bound cookie; its other attributes (Path,
  /// Domain, Secure, HttpOnly, SameSite) are Options::cookie's. Must differ
  /// from Options::cookie.name; prefix rules apply.
  std::string cookie_name = "jeff_bound";
  /// Max-Age of the bound cookie: how long a stolen one stays usable.
  /// 1 s .. 1 day. Chromium refreshes about two minutes before it ends.
  std::chrono::seconds cookie_lifetime = std::chrono::minutes(10);
  /// How long a challenge (registration or refresh) may be answered.
  /// 1 s .. 1 hour.
  std::chrono::seconds challenge_lifetime = std::chrono::minutes(5);
  /// Longest Secure-Session-Response accepted (a registration proof with
  /// a 4096-bit RSA key takes about 1.6 KB); longer ones are refused before
  /// any decoding. 1 KiB .. 64 KiB.
  std::size_t max_proof_bytes = 8192;
  /// `scope.origin` of the session configuration (e.g.
  /// "https://example.com"). Empty: omitted (the browser then scopes the
  /// session to the origin of the registration request).
  std::string scope_origin;
  /// `scope.include_site`: the session also covers the site's other
  /// subdomains (only when the origin's host is the registrable domain).
  bool include_site = false;
};

/// What an HTTP adapter sends for a request to a DBSC endpoint: the status,
/// the headers, the Set-Cookie values and the body, as they are.
struct DeviceBindingResponse {
  /// 200: registered or refreshed (body: the session configuration JSON),
  /// or the session ended (body `{"continue":false}`: the browser stops
  /// refreshing and drops the key); 400: a malformed or oversized proof;
  /// 401: registration without a live session cookie; 403: a refused proof,
  /// or (refresh, with a Secure-Session-Challenge header) "sign this".
  int status = 200;
  /// Response headers (name, value), e.g. Secure-Session-Challenge,
  /// Content-Type, Cache-Control.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Set-Cookie header values (the new bound cookie, or its deletion).
  std::vector<std::string> set_cookie;
  /// The response body (JSON) or empty.
  std::string body;
};

}  // namespace jeff
