#pragma once
// application/x-www-form-urlencoded bodies and query strings, for the Beast
// example (cpp-httplib parses them itself).

#include <map>
#include <string>
#include <string_view>

namespace example::beast {

// Names to values, percent-decoded ('+' is a space); a repeated name keeps
// every value, in order.
using Form = std::multimap<std::string, std::string, std::less<>>;

// Parses `text` ("a=1&b=two+words"). Malformed escapes are kept as written.
Form ParseForm(std::string_view text);

// The first value of `name`, or "" when there is none.
std::string Param(const Form& form, std::string_view name);

}  // namespace example::beast
