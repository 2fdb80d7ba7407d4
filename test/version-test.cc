#include <jeff/version.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_CASE("the version macros and LibraryVersion() agree with the project version") {
  const std::string composed = std::to_string(JEFF_VERSION_MAJOR) + "." +
                               std::to_string(JEFF_VERSION_MINOR) + "." +
                               std::to_string(JEFF_VERSION_PATCH);
  CHECK(composed == JEFF_VERSION_STRING);
  CHECK(jeff::LibraryVersion() == JEFF_VERSION_STRING);
}
