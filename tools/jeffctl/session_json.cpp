#include "session_json.hpp"

#include <jeff/token.hpp>

#include <simdjson.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace jeff::ctl {

std::string FormatRfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date(day);
  const hh_mm_ss time(ms - day);
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return text;
}

nlohmann::ordered_json BytesJson(std::string_view bytes) {
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) return std::string(bytes);
  std::string base64(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(base64.data(), base64.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  base64.resize(base64.size() - 1);  // the terminating NUL sodium writes
  return {{"base64", base64}};
}

nlohmann::ordered_json SessionJson(const Session& session) {
  return {
      {"key", BytesJson(session.key)},
      {"id", FormatSessionId(session.id)},
      {"created", FormatRfc3339(session.created)},
      {"created_ms", ToUnixMillis(session.created)},
      {"expires", FormatRfc3339(session.expires)},
      {"expires_ms", ToUnixMillis(session.expires)},
      {"last_seen", FormatRfc3339(session.last_seen)},
      {"last_seen_ms", ToUnixMillis(session.last_seen)},
      {"meta", BytesJson(session.meta)},
      {"device_bound", session.device_bound},
  };
}

}  // namespace jeff::ctl
