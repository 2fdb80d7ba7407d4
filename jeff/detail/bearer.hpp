#pragma once
// Internal: the credentials of an `Authorization: Bearer <token>` header.

#include <optional>
#include <string_view>

namespace jeff::detail {

// The token of `authorization_header` (the header's value) when its scheme
// is Bearer (case-insensitive, RFC 9110), surrounding blanks trimmed;
// std::nullopt for another scheme or none.
std::optional<std::string_view> BearerToken(std::string_view authorization_header) noexcept;

}  // namespace jeff::detail
