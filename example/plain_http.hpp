#pragma once
// Whether a browser keeps the app's Secure session cookie. Browsers drop a
// Secure cookie that arrives over plain HTTP, except from hosts they treat as
// secure contexts (localhost, *.localhost, 127.0.0.0/8, [::1]). Decided from
// what the request says about the page the browser is on (its Origin and
// Host headers), never from the client's address: behind a proxy or a
// tunnel every client is the proxy.

#include <string>
#include <string_view>
#include <vector>

namespace example {

// The origin the browser is on, lower-case ("http://myhost:8080"): the
// request's Origin header when it has one (every form POST), else its Host
// header with "https://" when `allowed_origins` lists that origin (the app
// itself serves plain HTTP; behind a TLS proxy the operator passes --origin
// https://...), else with "http://". Empty without either header, or when
// one holds anything but printable ASCII or is over 300 bytes.
std::string BrowserOrigin(std::string_view origin_header, std::string_view host_header,
                          const std::vector<std::string>& allowed_origins);

// True when a browser on `origin` drops a Secure cookie: "http://" to a
// host other than localhost, *.localhost, 127.x.x.x or [::1]. False for
// https:// and for an empty or unparsable origin.
bool DropsSecureCookie(std::string_view origin);

}  // namespace example
