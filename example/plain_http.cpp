#include "plain_http.hpp"

#include <algorithm>
#include <cctype>

namespace example {
namespace {

// Longest Origin or Host header looked at (a host name is at most 253 bytes).
constexpr std::size_t kMaxHeader = 300;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host of `authority` ("host:port", "[::1]:port"), without the port.
std::string_view HostOf(std::string_view authority) {
  if (authority.starts_with('[')) return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

bool IsLoopbackIPv4(std::string_view host) {
  return host.starts_with("127.") &&
         std::all_of(host.begin(), host.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

}  // namespace

std::string BrowserOrigin(std::string_view origin_header, std::string_view host_header,
                          const std::vector<std::string>& allowed_origins) {
  // Both go into a page and a log line: printable ASCII only, and short.
  for (std::string_view header : {origin_header, host_header}) {
    if (header.size() > kMaxHeader ||
        !std::all_of(header.begin(), header.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
      return {};
    }
  }
  if (!origin_header.empty() && origin_header != "null") return Lower(origin_header);
  if (host_header.empty()) return {};
  const std::string https = "https://" + Lower(host_header);
  if (std::find(allowed_origins.begin(), allowed_origins.end(), https) != allowed_origins.end()) {
    return https;
  }
  return "http://" + Lower(host_header);
}

bool DropsSecureCookie(std::string_view origin) {
  constexpr std::string_view kHttp = "http://";
  if (!origin.starts_with(kHttp)) return false;
  const std::string_view host = HostOf(origin.substr(kHttp.size()));
  if (host.empty()) return false;
  return !(host == "localhost" || host.ends_with(".localhost") || host == "[::1]" ||
           IsLoopbackIPv4(host));
}

}  // namespace example
