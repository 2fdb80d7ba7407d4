#pragma once
/// \file
/// The HTTP policy every framework adapter shares, free of any framework:
/// origin check -> session check -> Set-Cookie -> 503 with Retry-After when
/// the store fails -> redirect (or 401) without a session. An adapter maps
/// its request onto a RequestView, runs BeforeCheck, checks the session
/// (synchronously with Decide, or asynchronously between BeforeCheck and
/// AfterCheck), and maps the Decision back onto its response type. The
/// device-binding (DBSC) endpoints are answered by the core; DeviceBindingReply
/// maps its answer onto a Reply.

#include <jeff/csrf.hpp>
#include <jeff/export.hpp>
#include <jeff/sessions.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace jeff::http {

/// The parts of a request the policy reads. The views must outlive the
/// calls they are given to; empty means the header is absent.
struct RequestView {
  std::string_view method;          ///< "GET", "POST", ...
  std::string_view origin;          ///< the Origin header
  std::string_view sec_fetch_site;  ///< the Sec-Fetch-Site header
  /// Every Cookie header, joined with "; " (HTTP/2 may split them).
  std::string_view cookie;
  std::string_view authorization;  ///< the Authorization header
  /// The Secure-Session-Response header: a DBSC proof (registration, refresh).
  /// Defaulted (as the next one), so that an adapter which fills only the
  /// fields above (written before DBSC) still compiles and never binds.
  std::string_view secure_session_response = {};
  /// The Sec-Secure-Session-Id header: the bound session a DBSC refresh is for.
  std::string_view secure_session_id = {};
};

/// Who may reach a route.
enum class Access {
  /// A live session is required (Wrap): unsafe methods pass the origin
  /// check first; no session is answered 302/401, a store failure 503.
  kSession,
  /// Everyone (Public): the handler always runs and sees what Check found;
  /// the policy never answers for it.
  kPublic,
};

/// How the policy answers the requests it stops.
struct PolicyOptions {
  /// Origins (`scheme://host[:port]`) allowed to send unsafe methods (POST,
  /// PUT, ...) to kSession routes; others get 403. Empty: no check.
  std::vector<std::string> allowed_origins;
  /// Retry-After (seconds) of the 503 sent when the store fails.
  std::chrono::seconds retry_after{1};
  /// Where a request without a live session is sent (302). Empty: it is
  /// answered 401 instead.
  std::string unauthorized_redirect = "/";
  /// Check `Authorization: Bearer` (Sessions::CheckBearer: stateful
  /// sessions, or stateless ones with StatelessOptions::bearer) instead of
  /// the cookie when the request has an Authorization header. Such a
  /// request skips the origin check: a browser never attaches the header by
  /// itself, so it cannot be forged cross-site (CSRF rides on cookies).
  /// false: the cookie only.
  bool bearer = false;
  /// kSession routes that need a recent login (step-up): a session whose
  /// last authentication (Session::authenticated_at) is older than this is
  /// answered "sign in again" (Decision::Outcome::kReauthenticate) instead
  /// of running the handler. 0: any age.
  std::chrono::seconds max_authentication_age{0};
  /// Where such a request is sent (302), e.g. a password prompt that ends in
  /// Sessions::Reauthenticated. Empty: it is answered 401 instead.
  std::string reauthenticate_redirect;
  /// Reads now for max_authentication_age (adapters pass Options::clock).
  /// Empty: the system clock.
  Clock clock;
};

/// The PolicyOptions of an adapter's route: `adapter`'s allowed_origins,
/// retry_after, max_authentication_age and bearer (every adapter's options
/// name them so), and the session options' unauthorized_redirect and clock.
template <class AdapterOptions>
PolicyOptions PolicyFor(const Options& session_options, const AdapterOptions& adapter) {
  PolicyOptions policy;
  policy.allowed_origins = adapter.allowed_origins;
  policy.retry_after = adapter.retry_after;
  policy.unauthorized_redirect = session_options.unauthorized_redirect;
  policy.max_authentication_age = adapter.max_authentication_age;
  policy.bearer = adapter.bearer;
  policy.clock = session_options.clock;
  return policy;
}

/// A response the policy writes, in no framework's types.
struct Reply {
  int status = 200;  ///< HTTP status code
  /// Set-Cookie values, each sent as its own header (always sent, also
  /// with the handler's own response or an adapter's callback's).
  std::vector<std::string> set_cookie;
  /// Other headers (name, value), e.g. Location, Retry-After, Cache-Control.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;          ///< empty: no body
  std::string content_type;  ///< of `body`; empty when there is none
};

/// An adapter's answer to a request without a live session on a Wrap'ed
/// route (its options' `on_unauthorized`). Set it to a callable taking the
/// framework's request and response (`Args...`) and, optionally, why there
/// is no session: Decision::checked.status (kAbsent, kMalformed, kUnknown,
/// kExpired or kDeviceProofRequired), e.g. to say "your session expired".
/// Empty by default (and from nullptr or an empty std::function).
template <class... Args>
class UnauthorizedHook {
 public:
  UnauthorizedHook() = default;
  /// Empty.
  UnauthorizedHook(std::nullptr_t) noexcept {}
  /// Calls `f(args..., why)`.
  template <class F>
    requires std::is_invocable_v<F&, Args..., CheckStatus>
  UnauthorizedHook(F f) : fn_(std::move(f)) {}
  /// Calls `f(args...)`: the reason is not passed.
  template <class F>
    requires(!std::is_invocable_v<F&, Args..., CheckStatus> && std::is_invocable_v<F&, Args...>)
  UnauthorizedHook(F f) {
    if constexpr (std::is_pointer_v<F> || IsFunction<F>::value) {
      if (!static_cast<bool>(f)) return;  // an empty std::function or null pointer
    }
    fn_ = [f = std::move(f)](Args... args, CheckStatus) mutable { f(std::forward<Args>(args)...); };
  }
  /// True when set.
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
  /// Runs the callable; must be set.
  void operator()(Args... args, CheckStatus why) const { fn_(std::forward<Args>(args)..., why); }

 private:
  template <class F>
  struct IsFunction : std::false_type {};
  template <class S>
  struct IsFunction<std::function<S>> : std::true_type {};
  std::function<void(Args..., CheckStatus)> fn_;
};

/// What the adapter does with a request.
struct Decision {
  /// Why the policy decided so.
  enum class Outcome {
    kRunHandler,    ///< run the route's handler with `checked`
    kForbidden,     ///< 403: an unsafe request from a foreign or unknown origin
    kUnauthorized,  ///< no live session on a kSession route (302 or 401)
    kStoreError,    ///< the store failed (503 with Retry-After)
    kReauthenticate,  ///< a live session whose last authentication is older
                      ///< than PolicyOptions::max_authentication_age (302 or 401)
  };
  Outcome outcome = Outcome::kRunHandler;
  /// What Check found (default, kAbsent, when the request was refused
  /// before the check).
  CheckResult checked;
  /// The answer: only `set_cookie` for kRunHandler (the handler writes the
  /// rest); the whole response otherwise, which an adapter's own callback
  /// may replace (keeping `set_cookie`).
  Reply reply;

  /// True when the handler runs.
  bool run_handler() const noexcept { return outcome == Outcome::kRunHandler; }
};

/// The text of the 403 sent for `verdict` (not kAllowed): a request without
/// Origin (and Sec-Fetch-Site) is told so, since it is usually a client that
/// does not send the header (curl, an old browser, a proxy that strips it),
/// not an attack.
JEFF_API std::string OriginRefusal(CsrfVerdict verdict);

/// The 403 for an unsafe request whose origin is not in `allowed_origins`;
/// std::nullopt when it may go on (always, when `allowed_origins` is empty).
JEFF_API std::optional<Reply> RefuseOrigin(const RequestView& request,
                                           const std::vector<std::string>& allowed_origins);

/// The 503 for a store failure: Retry-After `retry_after`, Cache-Control:
/// no-store, a short plain-text body.
JEFF_API Reply StoreUnavailableReply(std::chrono::seconds retry_after);

/// Step 1, before the session check: the 403 Decision when the origin check
/// refuses the request (kSession routes authenticated by cookie only);
/// std::nullopt: go on and check.
JEFF_API std::optional<Decision> BeforeCheck(const RequestView& request,
                                             const PolicyOptions& options, Access access);

/// True when the session comes from Sessions::CheckBearer(request.authorization)
/// rather than Check(request.cookie) (PolicyOptions::bearer and an
/// Authorization header).
JEFF_API bool ChecksBearer(const RequestView& request, const PolicyOptions& options) noexcept;

/// True when `session` last authenticated longer than `max_age` before `now`
/// (a route that needs a recent login must ask for the password again);
/// false when `max_age` is 0.
JEFF_API bool NeedsReauthentication(const Session& session, std::chrono::seconds max_age,
                                    TimePoint now) noexcept;

/// Step 2, given what the check found: run the handler (with the
/// Set-Cookie values to send), or the 503 / 302 / 401 answer (also for a
/// session too old for PolicyOptions::max_authentication_age).
JEFF_API Decision AfterCheck(CheckResult checked, const PolicyOptions& options, Access access);

/// The endpoints of device-bound sessions (Options::device_binding), both POST.
enum class DeviceEndpoint {
  kRegistration,  ///< registration_path: the browser's key and first proof
  kRefresh,       ///< refresh_path: a challenge, then a proof for a new bound cookie
};

/// The Reply for what Sessions::RegisterDevice / RefreshDevice answered:
/// its status, headers, Set-Cookie values and body as they are. A store
/// failure: 503 with Retry-After `retry_after` (Chromium keeps the bound
/// session and tries again later); any other error (device binding off,
/// stateless sessions): 404, as if the endpoint were not there.
JEFF_API Reply DeviceBindingReply(Result<DeviceBindingResponse> answer,
                                  std::chrono::seconds retry_after);

/// Answers a request to `endpoint` synchronously on `sessions`: its Cookie,
/// Secure-Session-Response and (refresh) Sec-Secure-Session-Id headers go to
/// the core, whose answer DeviceBindingReply maps. No origin check: the
/// browser's own requests carry no Origin, and a proof is worth nothing
/// without the device's key.
JEFF_API Reply AnswerDeviceBinding(Sessions& sessions, DeviceEndpoint endpoint,
                                   const RequestView& request, std::chrono::seconds retry_after);

/// Both steps around a synchronous check on `sessions`.
JEFF_API Decision Decide(Sessions& sessions, const RequestView& request,
                         const PolicyOptions& options, Access access);

}  // namespace jeff::http
