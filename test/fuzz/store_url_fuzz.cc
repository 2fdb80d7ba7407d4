// libFuzzer target: store URL parsing and its option accessors.
#include <jeff/store_url.hpp>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)jeff::RedactStoreUrl(text);
  auto url = jeff::ParseStoreUrl(text);
  if (!url) {
    if (url.error() != jeff::Errc::kInvalidArgument) std::abort();
    return 0;
  }
  for (const auto& h : url->hosts) {
    if (h.host.empty()) std::abort();
  }
  try {
    (void)url->IntParam("pool_size", 1, 1, 1000);
    (void)url->DurationParam("timeout", std::chrono::seconds(1));
    url->RequireKnownParams({"pool_size", "timeout"});
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
