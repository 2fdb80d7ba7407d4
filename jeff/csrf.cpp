#include <jeff/csrf.hpp>

#include <algorithm>
#include <array>

namespace jeff {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

bool IsSafeMethod(std::string_view method) noexcept {
  static constexpr std::array<std::string_view, 4> kSafe = {"GET", "HEAD", "OPTIONS", "TRACE"};
  return std::find(kSafe.begin(), kSafe.end(), method) != kSafe.end();
}

CsrfVerdict CheckOrigin(std::string_view method, std::string_view origin,
                        std::string_view sec_fetch_site,
                        std::span<const std::string> allowed_origins) noexcept {
  if (IsSafeMethod(method)) return CsrfVerdict::kAllowed;
  if (!origin.empty()) {
    // Origin is serialized by the browser (scheme and host lower-case); a
    // case-insensitive match tolerates hand-written configuration.
    for (const std::string& allowed : allowed_origins) {
      if (EqualsIgnoreCase(origin, allowed)) return CsrfVerdict::kAllowed;
    }
    return CsrfVerdict::kCrossOrigin;
  }
  if (sec_fetch_site.empty()) return CsrfVerdict::kMissingOrigin;
  if (sec_fetch_site == "same-origin" || sec_fetch_site == "none") return CsrfVerdict::kAllowed;
  return CsrfVerdict::kCrossOrigin;
}

}  // namespace jeff
