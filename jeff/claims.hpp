#pragma once
/// \file
/// jeff::Claims: the JSON claim set of a stateless (JWE) session, as request
/// handlers see it through Session::Claim, StringClaim and HasRole.

#include <jeff/export.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace jeff {

/// An immutable JSON object of claims, shared by every copy of the Session
/// that carries it. Thread-safe to read. Lookups parse the text each time
/// (simdjson, well under a microsecond for a typical claim set).
class JEFF_API Claims {
 public:
  /// Takes `json`, which should be one JSON object; when it is not, every
  /// lookup finds nothing. Not validated here: the stateless strategy
  /// already parsed it.
  explicit Claims(std::string json);

  /// The claim set as JSON text.
  const std::string& json() const noexcept { return json_; }

  /// The compact JSON text of member `name` (`"x"`, `42`, `["a","b"]`, ...);
  /// std::nullopt when there is no such member.
  std::optional<std::string> Get(std::string_view name) const;

  /// The value of member `name` when it is a string; std::nullopt when it
  /// is absent or not a string.
  std::optional<std::string> GetString(std::string_view name) const;

  /// True when member "role" is the string `role`, or "roles" or "role" is
  /// an array holding the string `role`.
  bool HasRole(std::string_view role) const;

 private:
  std::string json_;
};

}  // namespace jeff
