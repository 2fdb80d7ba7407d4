#include <jeff/version.hpp>

namespace jeff {

std::string_view Version() noexcept { return JEFF_VERSION_STRING; }

}  // namespace jeff
