#include <jeff/sessions.hpp>

#include <jeff/engine/options.hpp>
#include <jeff/engine/stateful.hpp>
#include <jeff/engine/stateless.hpp>

#include <cstdio>
#include <stdexcept>

namespace jeff {


std::string_view ToString(CheckStatus status) noexcept {
  switch (status) {
    case CheckStatus::kOk: return "ok";
    case CheckStatus::kAbsent: return "absent";
    case CheckStatus::kMalformed: return "malformed";
    case CheckStatus::kUnknown: return "unknown";
    case CheckStatus::kExpired: return "expired";
    case CheckStatus::kStoreError: return "store error";
    case CheckStatus::kDeviceProofRequired: return "device proof required";
  }
  return "unknown status";
}

Sessions::Sessions(Options options) {
  options = engine::ValidateOptions(std::move(options));
  const bool stateless = options.strategy == SessionStrategy::kStateless ||
                         (options.strategy == SessionStrategy::kAuto && options.store == nullptr);
  if (stateless) {
    engine::RequireNoDeviceBinding(options);
    strategy_ = engine::MakeStatelessStrategy(std::move(options));
    return;
  }
  engine::RequireOption(options.store != nullptr, "a store is required (e.g. OpenStore(\"memory://\"))");
  strategy_ = engine::MakeStatefulStrategy(std::move(options));
}

Sessions::~Sessions() = default;
Sessions::Sessions(Sessions&&) noexcept = default;
Sessions& Sessions::operator=(Sessions&&) noexcept = default;

Result<Issued> Sessions::Set(std::string_view key, std::string_view meta) {
  return strategy_->Set(key, meta, std::nullopt);
}

Result<Issued> Sessions::Set(std::string_view key, std::string_view meta, const SetOptions& set_options) {
  const std::optional<std::chrono::seconds> max_age = set_options.max_age;
  if (max_age && (max_age->count() < 0 || *max_age > kMaxCookieLifetime)) return Errc::kInvalidArgument;
  return strategy_->Set(key, meta, max_age);
}

CheckResult Sessions::Check(std::string_view cookie_header) { return strategy_->Check(cookie_header); }

CheckResult Sessions::CheckBearer(std::string_view authorization_header) {
  return strategy_->CheckBearer(authorization_header);
}

Result<std::vector<std::string>> Sessions::Clear(std::string_view cookie_header) {
  return strategy_->Clear(cookie_header);
}

Result<std::size_t> Sessions::Delete(std::string_view key) { return strategy_->DeleteAll(key); }

Result<std::size_t> Sessions::Delete(std::string_view key, std::span<const SessionId> ids) {
  return strategy_->DeleteSome(key, ids);
}

Result<std::vector<Session>> Sessions::SessionsForKey(std::string_view key) {
  return strategy_->SessionsForKey(key);
}

Result<Issued> Sessions::Rotate(std::string_view cookie_header) { return strategy_->Rotate(cookie_header); }

Result<MoveOutcome> Sessions::MoveRecord(std::string_view store_key) { return strategy_->MoveRecord(store_key); }

Result<Issued> Sessions::Reauthenticated(std::string_view cookie_header) {
  return strategy_->Reauthenticated(cookie_header);
}

Result<Session> Sessions::UpdateMeta(std::string_view cookie_header, std::string_view meta) {
  return strategy_->UpdateMeta(cookie_header, meta);
}

Result<Session> Sessions::UpdateMeta(std::string_view key, const SessionId& id, std::string_view meta) {
  return strategy_->UpdateMeta(key, id, meta);
}

Result<DeviceBindingResponse> Sessions::RegisterDevice(std::string_view cookie_header,
                                                       std::string_view secure_session_response) {
  return strategy_->RegisterDevice(cookie_header, secure_session_response);
}

Result<DeviceBindingResponse> Sessions::RefreshDevice(std::string_view cookie_header,
                                                      std::string_view sec_secure_session_id,
                                                      std::string_view secure_session_response) {
  return strategy_->RefreshDevice(cookie_header, sec_secure_session_id, secure_session_response);
}

const Options& Sessions::options() const noexcept { return strategy_->options(); }

MetricsSnapshot Sessions::metrics() const { return strategy_->metrics(); }

}  // namespace jeff
