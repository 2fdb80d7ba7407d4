#pragma once
// Internal: JSON helpers shared by the JWE codec, the stateless strategy and
// Claims. Only .cpp files include this (it pulls in simdjson).

#include <simdjson.h>

#include <string>
#include <string_view>

namespace jeff::detail {

// The simdjson DOM parser of the calling thread. Reusing it keeps parsing
// allocation-free once its buffers have grown to the largest input seen.
// Elements it returns stay valid only until the thread's next parse.
simdjson::dom::parser& ThreadJsonParser();

// Parses `json` as one JSON object; false when it is not exactly that.
// `json` needs no padding: a copy is made only when capacity is short.
[[nodiscard]] bool ParseJsonObject(const std::string& json, simdjson::dom::object& out);

}  // namespace jeff::detail
