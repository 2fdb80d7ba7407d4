// libFuzzer target: Cookie header parsing must accept any bytes, and every
// value it returns must be a view into the header.
#include <jeff/cookie.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // First byte chooses the cookie name's length, so names are fuzzed too.
  const std::size_t name_len = size > 0 ? data[0] % 16 : 0;
  const std::string_view name = input.substr(size > 0 ? 1 : 0, name_len);
  const std::string_view header = input.substr(std::min(size, 1 + name_len));
  const auto values = jeff::FindCookies(header, name, 8);
  if (values.size() > 8) std::abort();
  for (std::string_view v : values) {
    if (v.data() < header.data() || v.data() + v.size() > header.data() + header.size()) std::abort();
  }
  const auto first = jeff::FindCookie(header, name);
  if (first.has_value() != !values.empty()) std::abort();
  if (first && *first != values.front()) std::abort();
  (void)jeff::IsCookieValue(header);
  return 0;
}
