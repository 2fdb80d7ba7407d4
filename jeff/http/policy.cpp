#include <jeff/http/policy.hpp>

#include <jeff/csrf.hpp>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

namespace jeff::http {
namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) noexcept {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string OriginRefusal(CsrfVerdict verdict) {
  if (verdict == CsrfVerdict::kMissingOrigin) {
    return "Request refused: it has no Origin header (nor Sec-Fetch-Site), so it cannot be "
           "told apart from a cross-site request. Browsers send one; other clients must "
           "send Origin: <this site's origin>.\n";
  }
  return "Cross-site request refused: its Origin is not one this site accepts.\n";
}

std::optional<Reply> RefuseOrigin(const RequestView& request,
                                  const std::vector<std::string>& allowed_origins) {
  if (allowed_origins.empty()) return std::nullopt;
  const CsrfVerdict verdict =
      CheckOrigin(request.method, request.origin, request.sec_fetch_site, allowed_origins);
  if (verdict == CsrfVerdict::kAllowed) return std::nullopt;
  Reply reply;
  reply.status = 403;
  reply.body = OriginRefusal(verdict);
  reply.content_type = "text/plain";
  return reply;
}

Reply StoreUnavailableReply(std::chrono::seconds retry_after) {
  Reply reply;
  reply.status = 503;
  reply.headers = {{"Retry-After", std::to_string(retry_after.count())},
                   {"Cache-Control", "no-store"}};
  reply.body = "Service temporarily unavailable, please retry.\n";
  reply.content_type = "text/plain";
  return reply;
}

std::optional<Decision> BeforeCheck(const RequestView& request, const PolicyOptions& options,
                                    Access access) {
  if (access == Access::kPublic || ChecksBearer(request, options)) return std::nullopt;
  std::optional<Reply> refusal = RefuseOrigin(request, options.allowed_origins);
  if (!refusal) return std::nullopt;
  Decision decision;
  decision.outcome = Decision::Outcome::kForbidden;
  decision.reply = std::move(*refusal);
  return decision;
}

bool ChecksBearer(const RequestView& request, const PolicyOptions& options) noexcept {
  return options.bearer && !request.authorization.empty();
}

bool NeedsReauthentication(const Session& session, std::chrono::seconds max_age, TimePoint now) noexcept {
  return max_age.count() > 0 && now - session.authenticated_at > max_age;
}

Decision AfterCheck(CheckResult checked, const PolicyOptions& options, Access access) {
  Decision decision;
  const auto sign_in = [&](Decision::Outcome outcome, const std::string& redirect, std::string_view text) {
    decision.outcome = outcome;
    if (redirect.empty()) {
      decision.reply.status = 401;
      decision.reply.headers = {{"Cache-Control", "no-store"}};
      decision.reply.body = text;
      decision.reply.content_type = "text/plain";
    } else {
      decision.reply.status = 302;
      decision.reply.headers = {{"Location", redirect}};
    }
  };
  if (access == Access::kSession && checked.status == CheckStatus::kStoreError) {
    decision.outcome = Decision::Outcome::kStoreError;
    decision.reply = StoreUnavailableReply(options.retry_after);
  } else if (access == Access::kSession && !checked.ok()) {
    sign_in(Decision::Outcome::kUnauthorized, options.unauthorized_redirect, "Sign-in required.\n");
  } else if (access == Access::kSession && options.max_authentication_age.count() > 0 &&
             NeedsReauthentication(checked.session, options.max_authentication_age,
                                   options.clock ? options.clock() : SystemClock()())) {
    sign_in(Decision::Outcome::kReauthenticate, options.reauthenticate_redirect,
            "Please sign in again to continue.\n");
  }
  // Copied: a Public handler still sees every field of what Check found.
  decision.reply.set_cookie = checked.set_cookie;
  decision.checked = std::move(checked);
  return decision;
}

Reply DeviceBindingReply(Result<DeviceBindingResponse> answer, std::chrono::seconds retry_after) {
  if (!answer) {
    if (IsStoreError(answer.error())) return StoreUnavailableReply(retry_after);
    Reply reply;
    reply.status = 404;
    reply.headers = {{"Cache-Control", "no-store"}};
    return reply;
  }
  Reply reply;
  reply.status = answer->status;
  for (auto& [name, value] : answer->headers) {
    // Adapters write the body's type with the body.
    if (EqualsIgnoringCase(name, "Content-Type")) {
      reply.content_type = std::move(value);
    } else {
      reply.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  reply.set_cookie = std::move(answer->set_cookie);
  reply.body = std::move(answer->body);
  return reply;
}

Reply AnswerDeviceBinding(Sessions& sessions, DeviceEndpoint endpoint, const RequestView& request,
                          std::chrono::seconds retry_after) {
  return DeviceBindingReply(
      endpoint == DeviceEndpoint::kRegistration
          ? sessions.RegisterDevice(request.cookie, request.secure_session_response)
          : sessions.RefreshDevice(request.cookie, request.secure_session_id,
                                   request.secure_session_response),
      retry_after);
}

Decision Decide(Sessions& sessions, const RequestView& request, const PolicyOptions& options,
                Access access) {
  if (std::optional<Decision> refused = BeforeCheck(request, options, access)) {
    return std::move(*refused);
  }
  CheckResult checked = ChecksBearer(request, options) ? sessions.CheckBearer(request.authorization)
                                                       : sessions.Check(request.cookie);
  return AfterCheck(std::move(checked), options, access);
}

}  // namespace jeff::http
