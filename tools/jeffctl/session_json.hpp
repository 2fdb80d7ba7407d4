#pragma once
// The JSON form in which jeffctl prints sessions.

#include <jeff/clock.hpp>
#include <jeff/sessions.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace jeff::ctl {

// `t` as RFC 3339 in UTC with milliseconds: "2030-01-01T00:00:00.000Z".
std::string FormatRfc3339(TimePoint t);

// `bytes` as a JSON string when they are valid UTF-8, else as
// {"base64": "<standard base64 with padding>"}.
nlohmann::ordered_json BytesJson(std::string_view bytes);

// {"key", "id", "created", "created_ms", "expires", "expires_ms",
//  "last_seen", "last_seen_ms", "meta", "persistent"}: times as RFC 3339 and
// Unix ms; persistent as Session::persistent.
nlohmann::ordered_json SessionJson(const Session& session);

}  // namespace jeff::ctl
