#include <doctest/doctest.h>

#include "device_name.hpp"

using example::DeviceName;

TEST_CASE("DeviceName: browser and OS of common User-Agents") {
  CHECK(DeviceName("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0") ==
        "Firefox on Linux");
  CHECK(DeviceName("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36") == "Chrome on Windows");
  CHECK(DeviceName("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0") == "Edge on Windows");
  CHECK(DeviceName("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
                   "Gecko) Version/17.1 Safari/605.1.15") == "Safari on macOS");
  CHECK(DeviceName("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                   "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1") == "Safari on iPhone");
  CHECK(DeviceName("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                   "like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1") == "Chrome on iPhone");
  CHECK(DeviceName("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Mobile Safari/537.36") == "Chrome on Android");
  CHECK(DeviceName("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "HeadlessChrome/120.0.0.0 Safari/537.36") == "Chrome on Linux");
  CHECK(DeviceName("curl/7.88.1") == "curl");
}

TEST_CASE("DeviceName: unknown agents are shown as sent, cut short") {
  CHECK(DeviceName("") == "Unknown device");
  CHECK(DeviceName("Laptop/1.0") == "Laptop/1.0");
  const std::string long_agent(100, 'x');
  const std::string shown = DeviceName(long_agent);
  CHECK(shown.size() == 60);
  CHECK(shown.substr(57) == "...");
}
