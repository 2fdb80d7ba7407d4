#pragma once
/// \file
/// Cross-site request forgery defence for state-changing requests: the
/// browser's `Origin` (and `Sec-Fetch-Site`) must name an allowed origin.
/// SameSite=Lax cookies already stop most cross-site POSTs; this closes the
/// rest (same-site subdomains, old browsers, SameSite=None deployments).

#include <jeff/export.hpp>

#include <span>
#include <string>
#include <string_view>

namespace jeff {

/// The verdict on one request.
enum class CsrfVerdict {
  kAllowed,        ///< safe method, or same origin
  kCrossOrigin,    ///< Origin / Sec-Fetch-Site name another origin (or "null")
  kMissingOrigin,  ///< an unsafe method without Origin or Sec-Fetch-Site
};

/// True for GET, HEAD, OPTIONS and TRACE, which must not change state.
JEFF_API bool IsSafeMethod(std::string_view method) noexcept;

/// Decides whether a request may change state. `origin` and
/// `sec_fetch_site` are the request's header values (empty when absent);
/// `allowed_origins` are exact `scheme://host[:port]` strings (lower-case,
/// no trailing slash). Safe methods are always allowed. An Origin must be in
/// the list; without Origin, Sec-Fetch-Site must be "same-origin" or "none";
/// with neither header the request is refused.
JEFF_API CsrfVerdict CheckOrigin(std::string_view method, std::string_view origin,
                                 std::string_view sec_fetch_site,
                                 std::span<const std::string> allowed_origins) noexcept;

}  // namespace jeff
