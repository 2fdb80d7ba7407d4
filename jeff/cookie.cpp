#include <jeff/cookie.hpp>

#include <jeff/detail/ascii.hpp>

#include <algorithm>
#include <cassert>
#include <stdexcept>

namespace jeff {
namespace {

constexpr std::string_view kHostPrefix = "__Host-";
constexpr std::string_view kSecurePrefix = "__Secure-";
constexpr std::string_view kEpochHttpDate = "Thu, 01 Jan 1970 00:00:00 GMT";

bool IsCookieWhitespace(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view TrimCookieWhitespace(std::string_view s) noexcept {
  while (!s.empty() && IsCookieWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsCookieWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

// Calls `on_value(value)` for each cookie called `name`, in header order,
// until it returns false. Browsers send `a=1; b=2`, but what arrives may be
// anything: pairs are split on ';' only, whitespace around names and values
// is dropped, a pair without '=' is a nameless value (RFC 6265bis) and never
// matches, and one pair of surrounding double quotes is removed.
template <typename OnValue>
void ForEachCookie(std::string_view header, std::string_view name, OnValue on_value) {
  if (name.empty()) return;
  while (!header.empty()) {
    const std::size_t end = std::min(header.find(';'), header.size());
    const std::string_view pair = header.substr(0, end);
    header.remove_prefix(end == header.size() ? end : end + 1);

    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (TrimCookieWhitespace(pair.substr(0, eq)) != name) continue;
    std::string_view value = TrimCookieWhitespace(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!on_value(value)) return;
  }
}

bool IsTokenChar(char c) noexcept {
  if (detail::IsAsciiDigit(c) || detail::IsAsciiAlpha(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsCookieOctet(unsigned char c) noexcept {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
         (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

bool IsControlOrNonAscii(unsigned char c) noexcept { return c < 0x20 || c >= 0x7F; }

// Browsers match the prefixes case-insensitively (RFC 6265bis), so
// "__host-id" must meet the same rules as "__Host-id".
bool HasPrefixIgnoringCase(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
    return detail::AsciiToLower(a) == detail::AsciiToLower(b);
  });
}

[[noreturn]] void Invalid(const std::string& message) {
  throw std::invalid_argument("jeff cookie options: " + message);
}

void AppendTwoDigits(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10 % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

// The attributes shared by a session cookie and its deletion.
void AppendScope(std::string& out, const CookieOptions& options) {
  if (!options.domain.empty()) out.append("; Domain=").append(options.domain);
  out.append("; Path=").append(options.path);
}

void AppendFlags(std::string& out, const CookieOptions& options) {
  if (options.secure) out.append("; Secure");
  if (options.http_only) out.append("; HttpOnly");
  switch (options.same_site) {
    case SameSite::kLax:
      out.append("; SameSite=Lax");
      break;
    case SameSite::kStrict:
      out.append("; SameSite=Strict");
      break;
    case SameSite::kNone:
      out.append("; SameSite=None");
      break;
  }
  if (options.partitioned) out.append("; Partitioned");
}

}  // namespace

void ValidateCookieOptions(const CookieOptions& options) {
  const std::string& name = options.name;
  if (name.empty()) Invalid("the cookie name is empty");
  if (!std::all_of(name.begin(), name.end(), IsTokenChar)) {
    Invalid("cookie name \"" + name +
            "\" is not an RFC 6265 token (letters, digits, !#$%&'*+-.^_`|~)");
  }
  if (HasPrefixIgnoringCase(name, kHostPrefix)) {
    if (!options.secure) Invalid("a __Host- cookie (\"" + name + "\") must be Secure");
    if (options.path != "/") Invalid("a __Host- cookie (\"" + name + "\") must have Path=/");
    if (!options.domain.empty()) {
      Invalid("a __Host- cookie (\"" + name + "\") must not have a Domain");
    }
  } else if (HasPrefixIgnoringCase(name, kSecurePrefix) && !options.secure) {
    Invalid("a __Secure- cookie (\"" + name + "\") must be Secure");
  }
  if (options.same_site == SameSite::kNone && !options.secure) {
    Invalid("SameSite=None requires Secure (browsers drop the cookie otherwise)");
  }
  if (options.partitioned && !options.secure) {
    Invalid("a Partitioned cookie (CHIPS) requires Secure (browsers drop the cookie otherwise)");
  }

  const std::string& path = options.path;
  if (path.empty() || path.front() != '/') Invalid("the cookie path must start with '/'");
  for (char c : path) {
    if (c == ';' || IsControlOrNonAscii(static_cast<unsigned char>(c))) {
      Invalid("the cookie path may not contain ';', control or non-ASCII characters");
    }
  }

  for (char c : options.domain) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ';' || c == ',' || c == ' ' || IsControlOrNonAscii(u)) {
      Invalid(
          "the cookie domain may not contain ';', ',', whitespace, control or non-ASCII characters"
          " (use the punycode form of an internationalised domain)");
    }
  }
  if (!options.domain.empty() && options.domain.find_first_not_of('.') == std::string::npos) {
    Invalid("the cookie domain \"" + options.domain + "\" names no host");
  }
}

std::vector<std::string_view> FindCookies(std::string_view header, std::string_view name,
                                          std::size_t max_values) {
  std::vector<std::string_view> values;
  if (max_values == 0) return values;
  ForEachCookie(header, name, [&](std::string_view value) {
    values.push_back(value);
    return values.size() < max_values;
  });
  return values;
}

std::optional<std::string_view> FindCookie(std::string_view header,
                                           std::string_view name) noexcept {
  std::optional<std::string_view> found;
  ForEachCookie(header, name, [&](std::string_view value) {
    found = value;
    return false;
  });
  return found;
}

bool IsCookieValue(std::string_view value) noexcept {
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsCookieOctet(static_cast<unsigned char>(c)); });
}

std::string BuildSetCookie(const CookieOptions& options, std::string_view name,
                           std::string_view value, std::chrono::seconds max_age, TimePoint now) {
  assert(IsCookieValue(value));
  std::string out;
  out.reserve(name.size() + value.size() + options.domain.size() + options.path.size() + 128);
  out.append(name).push_back('=');
  out.append(value);
  AppendScope(out, options);
  if (max_age.count() > 0) {
    out.append("; Max-Age=").append(std::to_string(max_age.count()));
    // A huge max_age must not overflow the time point: clamp to its last second.
    const auto now_s = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch();
    const auto last_s =
        std::chrono::floor<std::chrono::seconds>(TimePoint::max()).time_since_epoch();
    const auto expires_s = max_age >= last_s - now_s ? last_s : now_s + max_age;
    out.append("; Expires=").append(FormatHttpDate(TimePoint(expires_s)));
  }
  AppendFlags(out, options);
  return out;
}

std::string BuildExpiredCookie(const CookieOptions& options, std::string_view name) {
  std::string out;
  out.reserve(name.size() + options.domain.size() + options.path.size() + 128);
  out.append(name).push_back('=');
  AppendScope(out, options);
  out.append("; Max-Age=0; Expires=").append(kEpochHttpDate);
  AppendFlags(out, options);
  return out;
}

std::string FormatHttpDate(TimePoint t) {
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  using std::chrono::days;
  using std::chrono::seconds;
  // IMF-fixdate has a four-digit year: clamp to 0001-01-01 .. 9999-12-31.
  constexpr seconds kMin(-62135596800);
  constexpr seconds kMax(253402300799);
  const seconds s = std::clamp(std::chrono::floor<seconds>(t.time_since_epoch()), kMin, kMax);

  const std::chrono::sys_days day = std::chrono::floor<days>(std::chrono::sys_seconds(s));
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(std::chrono::sys_seconds(s) - day);
  const auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));

  std::string out;
  out.reserve(29);
  out.append(kDays[std::chrono::weekday(day).c_encoding()]).append(", ");
  AppendTwoDigits(out, static_cast<unsigned>(ymd.day()));
  out.append(" ").append(kMonths[static_cast<unsigned>(ymd.month()) - 1]).append(" ");
  AppendTwoDigits(out, year / 100);
  AppendTwoDigits(out, year % 100);
  out.push_back(' ');
  AppendTwoDigits(out, static_cast<unsigned>(hms.hours().count()));
  out.push_back(':');
  AppendTwoDigits(out, static_cast<unsigned>(hms.minutes().count()));
  out.push_back(':');
  AppendTwoDigits(out, static_cast<unsigned>(hms.seconds().count()));
  out.append(" GMT");
  return out;
}

}  // namespace jeff
