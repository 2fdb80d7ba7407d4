#include "device_name.hpp"

#include <array>
#include <utility>

namespace example {
namespace {

bool Has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari",
// Android also says "Linux", iPhones also say "Mac OS X".
std::string_view Browser(std::string_view ua) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kBrowsers{{
      {"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
      {"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
      {"Safari/", "Safari"}, {"curl/", "curl"},
  }};
  for (const auto& [marker, name] : kBrowsers) {
    if (Has(ua, marker)) return name;
  }
  return {};
}

std::string_view System(std::string_view ua) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kSystems{{
      {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
      {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"},
  }};
  for (const auto& [marker, name] : kSystems) {
    if (Has(ua, marker)) return name;
  }
  return {};
}

}  // namespace

std::string DeviceName(std::string_view user_agent) {
  const std::string_view browser = Browser(user_agent);
  const std::string_view system = System(user_agent);
  if (!browser.empty() && !system.empty()) return std::string(browser) + " on " + std::string(system);
  if (!browser.empty()) return std::string(browser);
  if (!system.empty()) return "Browser on " + std::string(system);
  if (user_agent.empty()) return "Unknown device";
  constexpr std::size_t kMax = 60;
  if (user_agent.size() <= kMax) return std::string(user_agent);
  return std::string(user_agent.substr(0, kMax - 3)) + "...";
}

}  // namespace example
