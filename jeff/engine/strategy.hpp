#pragma once
// Internal: the two ways of keeping sessions (stateful store records,
// stateless encrypted cookies) behind the one Sessions facade.

#include <jeff/sessions.hpp>

namespace jeff::engine {

class Strategy {
 public:
  virtual ~Strategy() = default;
  // `max_age`: SetOptions::max_age, already range-checked.
  virtual Result<Issued> Set(std::string_view key, std::string_view meta,
                             std::optional<std::chrono::seconds> max_age) = 0;
  virtual CheckResult Check(std::string_view cookie_header) = 0;
  // Authorization-header check; strategies without bearer tokens find none.
  virtual CheckResult CheckBearer(std::string_view /*authorization_header*/) { return {}; }
  virtual Result<std::vector<std::string>> Clear(std::string_view cookie_header) = 0;
  virtual Result<std::size_t> DeleteAll(std::string_view key) = 0;
  virtual Result<std::size_t> DeleteSome(std::string_view key, std::span<const SessionId> ids) = 0;
  virtual Result<std::vector<Session>> SessionsForKey(std::string_view key) = 0;
  virtual Result<Issued> Rotate(std::string_view cookie_header) = 0;
  // Step-up; strategies that cannot change a session in place support none.
  virtual Result<Issued> Reauthenticated(std::string_view /*cookie_header*/) { return Errc::kUnsupported; }
  // Meta updates; strategies that cannot change a session in place support none.
  virtual Result<Session> UpdateMeta(std::string_view /*cookie_header*/, std::string_view /*meta*/) {
    return Errc::kUnsupported;
  }
  virtual Result<Session> UpdateMeta(std::string_view /*key*/, const SessionId& /*id*/,
                                     std::string_view /*meta*/) {
    return Errc::kUnsupported;
  }
  // Record moves; strategies without records support none.
  virtual Result<MoveOutcome> MoveRecord(std::string_view /*store_key*/) { return Errc::kUnsupported; }
  // DBSC endpoints; strategies without device binding support none.
  virtual Result<DeviceBindingResponse> RegisterDevice(std::string_view /*cookie_header*/,
                                                       std::string_view /*proof*/) {
    return Errc::kUnsupported;
  }
  virtual Result<DeviceBindingResponse> RefreshDevice(std::string_view /*cookie_header*/,
                                                      std::string_view /*session_id*/, std::string_view /*proof*/) {
    return Errc::kUnsupported;
  }
  virtual const Options& options() const noexcept = 0;
  // The counters (Options::metrics).
  virtual MetricsSnapshot metrics() const = 0;
};

}  // namespace jeff::engine
