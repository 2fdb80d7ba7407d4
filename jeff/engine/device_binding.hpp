#pragma once
// Internal: the DBSC operations of the stateful strategy, sans-I/O (the Step
// protocol of engine/stateful_ops.hpp), and the helpers Set and Check use.
//
// Record fields (docs/design.md, "DBSC"): ext key 3 holds the bound device
// key, key 4 the one outstanding single-use challenge, key 5 the hashes of
// the bound cookies still accepted (newest first, at most two: the newest
// and the one it replaced, for requests already in flight). Every change
// goes through one Mutation (read, change, compare-and-swap): a refresh
// racing another refresh, a login or a revoke never loses the binding nor
// brings a revoked session back.

#include <jeff/detail/dbsc_proof.hpp>
#include <jeff/engine/stateful_ops.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jeff::engine {

// A fresh challenge (32 random bytes) valid for challenge_lifetime from now_ms.
StoredChallenge NewDeviceChallenge(const Options& options, std::int64_t now_ms);

// The Secure-Session-Registration header that offers `challenge`.
std::pair<std::string, std::string> RegistrationHeader(const Options& options, const StoredChallenge& challenge);

// Whether `cookie_header` carries a bound cookie (DeviceBindingOptions::
// cookie_name) whose hash is one of `session`'s live bound cookies, compared
// in constant time.
bool HasValidBoundCookie(const Options& options, std::string_view cookie_header, const SessionView& session,
                         std::int64_t now_ms) noexcept;

// Sessions::RegisterDevice and Sessions::RefreshDevice: one Mutation per
// session cookie of the request until one names a live session. The proof
// is parsed (not verified) at construction; the signature is verified once,
// inside the change, against the key it must match.
class DeviceBindingOp : public MutationOp<DeviceBindingOp> {
 public:
  enum class Kind { kRegister, kRefresh };
  // What the request came to (for metrics).
  enum class Outcome { kNone, kRegistered, kRefreshed, kChallenged, kRefused, kEnded };

  // `session_id`: the Sec-Secure-Session-Id header (refresh); `proof`: the
  // Secure-Session-Response header (may be empty at refresh).
  DeviceBindingOp(const Options& options, Kind kind, std::string_view cookie_header, std::string_view session_id,
                  std::string_view proof, TimePoint now);
  Step Start();
  Kind kind() const noexcept { return kind_; }
  Outcome outcome() const noexcept { return outcome_; }
  // Why a proof was refused (kRefused).
  detail::DbscProofError refusal() const noexcept { return refusal_; }
  Result<DeviceBindingResponse>& result() noexcept { return result_; }

 private:
  friend MutationOp;
  static constexpr std::size_t kMaxCandidates = 4;
  // The change of the session a cookie named; false when nothing to write.
  Result<bool> Change(StoredSession& session);
  Step NextCookie();
  Step Next(Step step);
  // Finishes with the response for outcome_.
  Step Respond();
  void Refuse(detail::DbscProofError error) {
    outcome_ = Outcome::kRefused;
    refusal_ = error;
  }

  Kind kind_;
  TimePoint now_;
  std::vector<std::string> values_;  // the request's session cookies
  std::size_t next_ = 0;
  std::string kid_;
  TokenHash current_{};
  std::optional<SessionId> session_id_;  // Sec-Secure-Session-Id, parsed
  bool has_proof_ = false;
  detail::DbscProof proof_;
  // The verification of proof_ against verified_spki_ (done once per key).
  std::vector<std::uint8_t> verified_spki_;
  detail::DbscProofError verified_ = detail::DbscProofError::kNone;
  bool verified_once_ = false;
  // Generated once, so that a retried change writes the same values.
  Token bound_token_{};
  StoredChallenge challenge_;
  // Decided by the last run of Change.
  Outcome outcome_ = Outcome::kNone;
  detail::DbscProofError refusal_ = detail::DbscProofError::kNone;
  SessionId matched_id_{};
  std::int64_t bound_expires_ms_ = 0;
  Result<DeviceBindingResponse> result_ = Errc::kUnsupported;
};

}  // namespace jeff::engine
