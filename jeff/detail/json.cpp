#include <jeff/detail/json.hpp>

namespace jeff::detail {

simdjson::dom::parser& ThreadJsonParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

bool ParseJsonObject(const std::string& json, simdjson::dom::object& out) {
  return ThreadJsonParser().parse(json).get_object().get(out) == simdjson::SUCCESS;
}

}  // namespace jeff::detail
