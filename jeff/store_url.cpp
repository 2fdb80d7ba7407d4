#include <jeff/store_url.hpp>

#include <jeff/detail/ascii.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <vector>

namespace jeff {
namespace {

using detail::AsciiToLower;
using detail::IsAsciiAlpha;
using detail::IsAsciiDigit;

bool IsUnreserved(char c) noexcept {
  return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool IsSubDelim(char c) noexcept {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Percent-decodes `in` whose raw characters must all satisfy `allowed`.
// Rejects a malformed escape and an encoded NUL, which no store name,
// password or option needs and which C clients would truncate at.
template <typename Allowed>
std::optional<std::string> Decode(std::string_view in, Allowed allowed) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = detail::HexDigitValue(in[i + 1]);
      const int lo = detail::HexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (allowed(c)) {
      out.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool IsUserinfoChar(char c) noexcept { return IsUnreserved(c) || IsSubDelim(c) || c == ':'; }
bool IsPathChar(char c) noexcept {
  return IsUnreserved(c) || IsSubDelim(c) || c == ':' || c == '@' || c == '/';
}
// Query names and values: '&' and '=' are the separators.
bool IsQueryChar(char c) noexcept { return (IsPathChar(c) || c == '?') && c != '&' && c != '='; }
bool IsHostChar(char c) noexcept { return IsUnreserved(c); }

std::optional<std::uint16_t> ParsePort(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), IsAsciiDigit)) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<StoreUrl::Host> ParseHost(std::string_view text) {
  StoreUrl::Host host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host.host.assign(text.substr(1, close - 1));
    in6_addr addr;
    if (host.host.empty() || inet_pton(AF_INET6, host.host.c_str(), &addr) != 1) {
      return std::nullopt;
    }
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const std::size_t colon = text.find(':');
    auto name = Decode(text.substr(0, colon), IsHostChar);
    // Escapes are decoded, but a host name is still only letters, digits and "-._~".
    if (!name || name->empty() || !std::all_of(name->begin(), name->end(), IsHostChar)) {
      return std::nullopt;
    }
    host.host = std::move(*name);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (!port.empty()) {
    const auto p = ParsePort(port);
    if (!p) return std::nullopt;
    host.port = *p;
  }
  return host;
}

// Why ParseHost refused `text`: a port out of range says so. The host
// itself is not echoed (it may be a piece of a mistyped password).
std::string HostProblem(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  const std::size_t bracket = text.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    const std::string_view port = text.substr(colon + 1);
    if (!port.empty() && std::all_of(port.begin(), port.end(), IsAsciiDigit)) {
      if (!ParsePort(port)) return "port " + std::string(port) + " is out of range (1-65535)";
    } else {
      return "the port is not a number";
    }
  }
  return "invalid host";
}

bool ParseQuery(std::string_view query, StoreUrl& url) {
  if (query.empty()) return true;
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const std::size_t eq = item.find('=');
    auto name = Decode(item.substr(0, eq), IsQueryChar);
    auto value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                              : Decode(item.substr(eq + 1), IsQueryChar);
    if (!name || name->empty() || !value) return false;
    url.query.emplace_back(std::move(*name), std::move(*value));
    if (amp == std::string_view::npos) return true;
    query.remove_prefix(amp + 1);
  }
}

std::string JoinNames(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out.append(", ");
    out.append(name);
  }
  return out;
}

[[noreturn]] void BadParam(std::string_view name, std::string_view value,
                           std::string_view expected) {
  throw std::invalid_argument("store URL option ?" + std::string(name) + "=" + std::string(value) +
                              ": expected " + std::string(expected));
}

// Where the authority of `url` starts and ends; npos when there is no "://".
std::pair<std::size_t, std::size_t> AuthoritySpan(std::string_view url) noexcept {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return {std::string_view::npos, std::string_view::npos};
  const std::size_t begin = sep + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", begin), url.size());
  return {begin, end};
}

bool IsSecretParam(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), AsciiToLower);
  return lower.ends_with("password") || lower == "pass" || lower == "secret" || lower == "token" ||
         lower == "auth";
}

Result<StoreUrl> ParseUrl(std::string_view url, std::string* why);

// A part of a URL or connection string: offset and length.
using Span = std::pair<std::size_t, std::size_t>;

// Secrets shorter than this are hidden in messages only where quoted: a
// two-letter password would otherwise blank out every such pair of letters.
constexpr std::size_t kMinBareSecret = 3;

void ReplaceAll(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
}

// `text` with its valid %XX escapes decoded and anything else kept as is.
std::string LenientDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = detail::HexDigitValue(text[i + 1]);
      const int lo = detail::HexDigitValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

bool IsConninfoSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The secret values of a libpq `key=value` string, read as libpq reads it:
// a value is single-quoted (backslash escapes) or runs to the next space.
// An unterminated quote hides everything after it.
std::vector<Span> ConninfoSecretSpans(std::string_view text) {
  std::vector<Span> spans;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && IsConninfoSpace(text[i])) ++i;
  };
  while (true) {
    skip_space();
    const std::size_t key_begin = i;
    while (i < text.size() && !IsConninfoSpace(text[i]) && text[i] != '=') ++i;
    const std::string_view key = text.substr(key_begin, i - key_begin);
    skip_space();
    if (key.empty() || i >= text.size() || text[i] != '=') return spans;
    ++i;
    skip_space();
    const std::size_t value_begin = i;
    if (i < text.size() && text[i] == '\'') {
      for (++i; i < text.size() && text[i] != '\''; ++i) {
        if (text[i] == '\\') ++i;
      }
      i = std::min(i + 1, text.size());
    } else {
      for (; i < text.size() && !IsConninfoSpace(text[i]); ++i) {
        if (text[i] == '\\') ++i;
      }
      i = std::min(i, text.size());
    }
    if (IsSecretParam(key)) spans.emplace_back(value_begin, i - value_begin);
  }
}

// Where the secrets of `url` are: the password of its userinfo and the
// values of secret query options, in order. A URL that does not parse may
// hold a password with an unencoded '/', '?', '#' or '@': then the userinfo
// runs up to the last '@'. A text without "://" is read as libpq's
// `key=value` connection string.
std::vector<Span> SecretSpans(std::string_view url) {
  const auto [auth_begin, auth_end] = AuthoritySpan(url);
  if (auth_begin == std::string_view::npos) return ConninfoSecretSpans(url);
  std::vector<Span> spans;

  std::size_t at = std::string_view::npos;
  if (ParseUrl(url, nullptr).ok()) {
    at = url.substr(auth_begin, auth_end - auth_begin).find('@');
    if (at != std::string_view::npos) at += auth_begin;
  } else if (const std::size_t last = url.rfind('@');
             last != std::string_view::npos && last >= auth_begin) {
    at = last;
  }
  if (at != std::string_view::npos) {
    // A user name alone is no secret.
    const std::size_t colon = url.substr(auth_begin, at - auth_begin).find(':');
    if (colon != std::string_view::npos) spans.emplace_back(auth_begin + colon + 1, at - auth_begin - colon - 1);
  }

  const std::size_t query_from = at == std::string_view::npos ? auth_end : std::max(auth_end, at + 1);
  if (const std::size_t q = url.find('?', query_from); q != std::string_view::npos) {
    std::size_t pos = q + 1;
    while (pos < url.size()) {
      const std::size_t end = std::min(url.find('&', pos), url.size());
      const std::size_t eq = url.find('=', pos);
      if (eq < end && eq + 1 < end && IsSecretParam(url.substr(pos, eq - pos))) {
        spans.emplace_back(eq + 1, end - eq - 1);
      }
      pos = end + 1;
    }
  }
  return spans;
}

}  // namespace

std::optional<std::string_view> StoreUrl::Param(std::string_view name) const noexcept {
  for (auto it = query.rbegin(); it != query.rend(); ++it) {
    if (it->first == name) return std::string_view(it->second);
  }
  return std::nullopt;
}

std::int64_t StoreUrl::IntParam(std::string_view name, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) const {
  const auto text = Param(name);
  if (!text) return fallback;
  const std::string expected =
      "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  std::int64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    BadParam(name, *text, expected);
  }
  return value;
}

std::chrono::milliseconds StoreUrl::DurationParam(std::string_view name,
                                                  std::chrono::milliseconds fallback,
                                                  std::chrono::milliseconds min) const {
  const auto text = Param(name);
  if (!text) return fallback;
  const std::string kExpected =
      (min.count() > 0 ? "a duration of at least " + std::to_string(min.count()) + "ms" : std::string("a duration")) +
      " such as 250ms, 2s or 250 (milliseconds)";
  std::string_view digits = *text;
  std::int64_t scale = 1;
  if (digits.ends_with("ms")) {
    digits.remove_suffix(2);
  } else if (digits.ends_with("s")) {
    digits.remove_suffix(1);
    scale = 1000;
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsAsciiDigit)) {
    BadParam(name, *text, kExpected);
  }
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || value > std::numeric_limits<std::int64_t>::max() / scale ||
      value * scale < min.count()) {
    BadParam(name, *text, kExpected);
  }
  return std::chrono::milliseconds(value * scale);
}

void StoreUrl::RequireKnownParams(std::initializer_list<std::string_view> known) const {
  for (const auto& [name, value] : query) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw std::invalid_argument("unknown store URL option '" + name + "' for " + scheme +
                                  ":// (known: " + JoinNames(known) + ")");
    }
  }
}

namespace {

// ParseStoreUrl, with the reason of a failure in `why` (when not null).
Result<StoreUrl> ParseUrl(std::string_view url, std::string* why) {
  auto invalid = [why](std::string reason) -> Result<StoreUrl> {
    if (why != nullptr) *why = std::move(reason);
    return Errc::kInvalidArgument;
  };
  // Everything outside printable ASCII must be percent-encoded; a fragment
  // means nothing to a store and most likely is an unencoded '#' in a password.
  if (std::any_of(url.begin(), url.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u >= 0x7f || c == '#';
      })) {
    return invalid("a space, control, non-ASCII character or '#' must be percent-encoded");
  }
  StoreUrl out;

  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0 || !IsAsciiAlpha(url.front())) {
    return invalid("expected scheme://...");
  }
  for (char c : url.substr(0, sep)) {
    if (!IsAsciiAlpha(c) && !IsAsciiDigit(c) && c != '+' && c != '-' && c != '.') {
      return invalid("invalid scheme");
    }
    out.scheme.push_back(AsciiToLower(c));
  }

  const auto [auth_begin, auth_end] = AuthoritySpan(url);
  std::string_view authority = url.substr(auth_begin, auth_end - auth_begin);
  std::string_view rest = url.substr(auth_end);

  if (const std::size_t at = authority.find('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const std::size_t colon = userinfo.find(':');
    auto user = Decode(userinfo.substr(0, colon), IsUserinfoChar);
    if (!user) return invalid("invalid user name (bad percent-encoding or character)");
    out.username = std::move(*user);
    if (colon != std::string_view::npos) {
      out.password = Decode(userinfo.substr(colon + 1), IsUserinfoChar);
      if (!out.password) return invalid("invalid password (bad percent-encoding or character)");
    }
    // Credentials for no server at all are a mistake, not a memory:// URL.
    if (authority.empty()) return invalid("credentials without a host");
  }

  if (!authority.empty()) {
    while (true) {
      const std::size_t comma = authority.find(',');
      auto host = ParseHost(authority.substr(0, comma));
      if (!host) {
        // An '@' past the authority: most likely a password with an
        // unencoded '@', '/' or '?', whose pieces must not be echoed.
        if (url.find('@', auth_end) != std::string_view::npos) {
          return invalid("invalid host (a password holding '@', '/' or '?' must percent-encode it)");
        }
        return invalid(HostProblem(authority.substr(0, comma)));
      }
      out.hosts.push_back(std::move(*host));
      if (comma == std::string_view::npos) break;
      authority.remove_prefix(comma + 1);
    }
  }

  if (!rest.empty() && rest.front() == '/') {
    const std::size_t q = rest.find('?');
    auto path = Decode(rest.substr(1, q == std::string_view::npos ? q : q - 1), IsPathChar);
    if (!path) return invalid("invalid path (bad percent-encoding or character)");
    out.path = std::move(*path);
    rest = q == std::string_view::npos ? std::string_view() : rest.substr(q);
  }
  if (!rest.empty()) {
    // What is left starts with '?': AuthoritySpan stops only at '/', '?' or '#'.
    if (!ParseQuery(rest.substr(1), out)) return invalid("invalid query (expected name=value&...)");
  }
  return out;
}

}  // namespace

Result<StoreUrl> ParseStoreUrl(std::string_view url) {
  std::string why;
  auto parsed = ParseUrl(url, &why);
  if (!parsed) return NoteError(parsed.error(), why);
  return parsed;
}

std::string RedactStoreUrl(std::string_view url) {
  std::string out(url);
  const std::vector<Span> spans = SecretSpans(url);
  // Back to front, so that the earlier offsets stay valid.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) out.replace(it->first, it->second, "***");
  return out;
}

std::string RedactStoreMessage(std::string_view message, std::string_view url) {
  std::string out(message);
  if (!url.empty()) ReplaceAll(out, url, RedactStoreUrl(url));
  // Each secret as written and as a client decodes it.
  std::vector<std::string> secrets;
  for (const auto& [begin, length] : SecretSpans(url)) {
    if (length == 0) continue;
    const std::string_view raw = url.substr(begin, length);
    secrets.emplace_back(raw);
    if (std::string decoded = LenientDecode(raw); decoded != raw) secrets.push_back(std::move(decoded));
  }
  // Longest first, so that a secret within another is not left half shown.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& secret : secrets) {
    if (secret.size() >= kMinBareSecret) ReplaceAll(out, secret, "***");
  }
  // Libraries quote the token they choked on: hide any quoted fragment that
  // is part of a secret or holds one, whatever its length.
  std::size_t open = out.find('"');
  while (open != std::string::npos) {
    const std::size_t close = out.find('"', open + 1);
    if (close == std::string::npos) break;
    const std::string_view fragment = std::string_view(out).substr(open + 1, close - open - 1);
    const bool secret = !fragment.empty() && std::any_of(secrets.begin(), secrets.end(), [&](const std::string& s) {
      return s.find(fragment) != std::string::npos || fragment.find(s) != std::string_view::npos;
    });
    if (secret) {
      out.replace(open + 1, close - open - 1, "***");
      open += 4;
    } else {
      open = close;
    }
    open = out.find('"', open + 1);
  }
  return out;
}

}  // namespace jeff
