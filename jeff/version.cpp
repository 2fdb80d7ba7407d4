#include <jeff/version.hpp>

namespace jeff {

std::string_view LibraryVersion() noexcept { return JEFF_VERSION_STRING; }

}  // namespace jeff
