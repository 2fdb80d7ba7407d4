#pragma once
// A readable name for the device of a login ("Firefox on Linux"), from its
// User-Agent header, for the example's account and sessions pages.

#include <string>
#include <string_view>

namespace example {

// "<browser> on <OS>" when both are recognised (Edge, Opera, Firefox, Chrome,
// Safari, curl; Windows, macOS, iPhone, iPad, Android, ChromeOS, Linux), one
// of them alone when only it is, else the User-Agent itself cut to 60
// characters, or "Unknown device" when it is empty.
std::string DeviceName(std::string_view user_agent);

}  // namespace example
