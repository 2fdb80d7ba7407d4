// libFuzzer target: cookie options validation and Set-Cookie building. Any
// options either throw std::invalid_argument or build a header line that
// cannot split the HTTP response (no CR, LF or NUL).
#include <jeff/cookie.hpp>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

std::string_view Take(std::string_view& in) {
  const std::size_t n = in.empty() ? 0 : static_cast<unsigned char>(in[0]) % 40;
  in.remove_prefix(in.empty() ? 0 : 1);
  std::string_view out = in.substr(0, n);
  in.remove_prefix(out.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 2) return 0;
  const unsigned flags = static_cast<unsigned char>(in[0]);
  const auto max_age = std::chrono::seconds(static_cast<unsigned char>(in[1]) * 1000);
  in.remove_prefix(2);
  jeff::CookieOptions o;
  o.name = std::string(Take(in));
  o.domain = std::string(Take(in));
  o.path = std::string(Take(in));
  o.http_only = flags & 1;
  o.secure = flags & 2;
  o.same_site = static_cast<jeff::SameSite>((flags >> 2) % 3);
  const std::string value(Take(in));
  try {
    jeff::ValidateCookieOptions(o);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (!jeff::IsCookieValue(value)) return 0;
  const std::string line = jeff::BuildSetCookie(o, o.name, value, max_age, jeff::TimePoint{});
  const std::string expired = jeff::BuildExpiredCookie(o, o.name);
  for (const std::string* s : {&line, &expired}) {
    if (s->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) std::abort();
  }
  return 0;
}
