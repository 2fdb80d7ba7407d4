#pragma once
// Test support: read the message of a std::invalid_argument.

#include <stdexcept>
#include <string>
#include <string_view>

namespace jeff::test {

// The what() of the std::invalid_argument that `f` throws; "" when it throws none.
template <typename F>
std::string InvalidArgumentMessage(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

inline bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace jeff::test
