// libFuzzer target: the stateful cookie value decoder. Whatever it accepts
// must re-encode to exactly the same text (one spelling per value).
#include <jeff/detail/session_cookie.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  auto cookie = jeff::detail::ParseSessionCookie(value);
  if (!cookie) return 0;
  if (jeff::detail::FormatSessionCookie(cookie->kid, cookie->token) != value) std::abort();
  return 0;
}
