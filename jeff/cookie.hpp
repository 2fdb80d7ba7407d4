#pragma once
/// \file
/// Cookie header parsing and Set-Cookie building (RFC 6265), framework-free.

#include <jeff/clock.hpp>
#include <jeff/export.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jeff {

/// The longest lifetime a cookie can have: browsers cap Max-Age and Expires
/// at 400 days (RFC 6265bis, "Cookie Lifetime Limits"). Session lifetimes
/// (Options::max_age and the like) are bounded by it.
inline constexpr std::chrono::seconds kMaxCookieLifetime = std::chrono::hours(24 * 400);

/// The SameSite attribute. kNone forces Secure (browsers drop it otherwise).
enum class SameSite { kLax, kStrict, kNone };

/// Attributes of the session cookie. Validated by ValidateCookieOptions.
struct CookieOptions {
  /// Cookie name: an RFC 6265 token. A `__Host-` name requires Secure,
  /// Path=/ and no Domain; a `__Secure-` name requires Secure.
  std::string name = "jeff_session";
  /// Domain attribute; empty: none (host-only cookie, the safer default).
  std::string domain;
  /// Path attribute; must start with '/'.
  std::string path = "/";
  /// HttpOnly attribute (scripts cannot read the cookie).
  bool http_only = true;
  /// Secure attribute. Turning it off is for plain-HTTP development only.
  bool secure = true;
  /// SameSite attribute.
  SameSite same_site = SameSite::kLax;
  /// Partitioned attribute (CHIPS): the browser keys the cookie by the
  /// top-level site, for an app embedded in another site's iframe. Requires
  /// Secure. Every Set-Cookie built from these options carries it, the
  /// deleting ones too (a partitioned cookie is only deleted by one).
  bool partitioned = false;
};

/// Throws std::invalid_argument with a readable message when `options` break
/// RFC 6265 or the prefix rules, or SameSite=None or Partitioned without
/// Secure.
JEFF_API void ValidateCookieOptions(const CookieOptions& options);

/// The values of every cookie called `name` in a Cookie request header, in
/// header order, at most `max_values` of them. Tolerates what browsers and
/// attackers send: extra spaces, empty pairs, pairs without '=', quoted
/// values (quotes removed), any length. Views point into `header`.
JEFF_API std::vector<std::string_view> FindCookies(std::string_view header, std::string_view name,
                                                   std::size_t max_values = 8);

/// The first value of cookie `name` in a Cookie header; std::nullopt if absent.
JEFF_API std::optional<std::string_view> FindCookie(std::string_view header,
                                                    std::string_view name) noexcept;

/// True when `value` may appear unquoted in a cookie (RFC 6265 cookie-octets).
JEFF_API bool IsCookieValue(std::string_view value) noexcept;

/// A Set-Cookie header value: `<name>=<value>` with the attributes of
/// `options`. When `max_age` is positive, adds `Max-Age` and an `Expires`
/// (IMF-fixdate, computed from `now`) for old browsers; zero or less gives a
/// browser-session cookie. Precondition: `value` satisfies IsCookieValue and
/// `name` is a valid cookie name.
JEFF_API std::string BuildSetCookie(const CookieOptions& options, std::string_view name,
                                    std::string_view value, std::chrono::seconds max_age,
                                    TimePoint now);

/// A Set-Cookie header value that deletes cookie `name` (empty value,
/// Max-Age=0, Expires in 1970) with the path/domain and flags of `options`
/// (Partitioned included: a browser deletes a partitioned cookie only so).
JEFF_API std::string BuildExpiredCookie(const CookieOptions& options, std::string_view name);

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
JEFF_API std::string FormatHttpDate(TimePoint t);

}  // namespace jeff
