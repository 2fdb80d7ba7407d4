#include <jeff/claims.hpp>

#include <jeff/detail/json.hpp>
#include <jeff/sessions.hpp>

#include <utility>

namespace jeff {
namespace {

// Member `name` of `json`; false when `json` is no object or lacks it.
bool FindMember(const std::string& json, std::string_view name, simdjson::dom::element& out) {
  simdjson::dom::object object;
  return detail::ParseJsonObject(json, object) && object.at_key(name).get(out) == simdjson::SUCCESS;
}

bool ArrayHas(simdjson::dom::element element, std::string_view wanted) {
  simdjson::dom::array array;
  if (element.get_array().get(array) != simdjson::SUCCESS) return false;
  for (const simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) == simdjson::SUCCESS && text == wanted) return true;
  }
  return false;
}

}  // namespace

Claims::Claims(std::string json) : json_(std::move(json)) {
  // Room for simdjson's padding, so that lookups parse in place.
  json_.reserve(json_.size() + simdjson::SIMDJSON_PADDING);
}

std::optional<std::string> Claims::Get(std::string_view name) const {
  simdjson::dom::element value;
  if (!FindMember(json_, name, value)) return std::nullopt;
  return simdjson::minify(value);
}

std::optional<std::string> Claims::GetString(std::string_view name) const {
  simdjson::dom::element value;
  std::string_view text;
  if (!FindMember(json_, name, value) || value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  return std::string(text);
}

bool Claims::HasRole(std::string_view role) const {
  simdjson::dom::object object;
  if (!detail::ParseJsonObject(json_, object)) return false;
  simdjson::dom::element value;
  if (object.at_key("role").get(value) == simdjson::SUCCESS) {
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS && text == role) return true;
    if (ArrayHas(value, role)) return true;
  }
  return object.at_key("roles").get(value) == simdjson::SUCCESS && ArrayHas(value, role);
}

bool Session::HasRole(std::string_view role) const { return claims != nullptr && claims->HasRole(role); }

std::optional<std::string> Session::Claim(std::string_view name) const {
  if (claims == nullptr) return std::nullopt;
  return claims->Get(name);
}

std::optional<std::string> Session::StringClaim(std::string_view name) const {
  if (claims == nullptr) return std::nullopt;
  return claims->GetString(name);
}

}  // namespace jeff
