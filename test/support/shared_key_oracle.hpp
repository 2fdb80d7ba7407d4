#pragma once
// The bookkeeping of a race workload on SHARED keys (several workers log
// in, check and revoke sessions of the same keys at once) while a test
// breaks and repairs the store: it picks each worker's next operation and
// judges each answer, with no I/O of its own (a sync driver and an async
// driver run the same operations; see support/shared_key_race.hpp).
//
// Every judgement is exact, so that it can neither raise a false alarm nor
// miss a real failure:
//  - a session is tracked from the moment its Set was acknowledged;
//  - it counts as revoked only once a Delete that surely covered it was
//    acknowledged: Delete(key, {id}), or Delete(key) begun after its Set
//    was acknowledged. A Check begun after that which grants it is a
//    revoked session back (`revoked_back`, once per session, whether that
//    Delete removed it or found it gone already);
//  - a failed Delete, or a Delete(key) that overlapped its Set, leaves its
//    fate unknown: either answer is then right;
//  - on "evicting" keys (Options::max_sessions_per_key = kMaxPerKey) a Set
//    may evict older sessions. Eviction is by write order, so a session can
//    be evicted only after kMaxPerKey other Sets of its key were written
//    after it: a session found gone counts as `evicted` only when at least
//    that many other Sets of its key ended (in any way: a failed Set may
//    have been written) after its own began, or are still under way; else
//    it is `lost`. On the other keys (no limit) a session found gone while
//    nothing may have removed it is always lost;
//  - a Check of a cookie that was never issued (the token changed) that
//    grants anything, or a grant naming another session, is a wrong grant.

#include <jeff/error.hpp>
#include <jeff/sessions.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "support/cookies.hpp"

namespace jeff::test {

/// One key of the workload.
struct RaceKey {
  std::string name;        ///< the application key given to Set and Delete
  bool targeted = false;   ///< on the node or slots the fault is about
  bool evicting = false;   ///< used through Sessions with max_sessions_per_key
};

/// One operation picked by SharedKeyOracle::Next, to run and then report
/// with the matching Done.
struct RaceOp {
  enum Kind { kSet, kCheckLive, kCheckRevoked, kCheckForged, kDeleteOne, kDeleteAll };
  struct Tracked;
  Kind kind = kSet;
  std::size_t key = 0;      ///< index into the oracle's keys
  bool evicting = false;    ///< run through the evicting Sessions
  std::string name;         ///< the application key
  std::string cookie;       ///< what a Check sends
  SessionId id{};           ///< the session a kDeleteOne revokes
  std::shared_ptr<Tracked> session;                ///< checked or revoked
  std::vector<std::shared_ptr<Tracked>> covered;   ///< kDeleteAll: what it surely removes
  std::uint64_t start = 0;      ///< the oracle's sequence number when it began
  long sets_ended_before = 0;   ///< kSet: Sets of the key ended before it began
  std::chrono::steady_clock::time_point began;
};

struct RaceOp::Tracked {
  enum State { kLive, kMaybe, kRevoked };
  std::string cookie;
  SessionId id{};
  State state = kLive;
  int removals = 0;             ///< Deletes under way that may remove it
  long sets_ended_before = 0;   ///< Sets of its key ended before its own began
  std::uint64_t revoked_at = 0; ///< sequence number of the acknowledged revocation
  bool came_back = false;
};

class SharedKeyOracle {
 public:
  using Clock = std::chrono::steady_clock;
  /// Sessions per key on evicting keys (Options::max_sessions_per_key).
  static constexpr std::size_t kMaxPerKey = 4;

  explicit SharedKeyOracle(std::vector<RaceKey> keys) {
    for (RaceKey& k : keys) {
      auto state = std::make_unique<KeyState>();
      state->key = std::move(k);
      keys_.push_back(std::move(state));
    }
  }

  /// Counts from now on go to "after the fault" (RecoveryMs).
  void MarkFault() { fault_at_ = Clock::now(); }

  /// Picks the next operation and notes that it began.
  RaceOp Next(std::mt19937& rng) {
    RaceOp op;
    op.key = rng() % keys_.size();
    KeyState& k = *keys_[op.key];
    op.evicting = k.key.evicting;
    op.name = k.key.name;
    op.began = Clock::now();
    requests.fetch_add(1);
    std::lock_guard lock(k.mu);
    const unsigned r = rng() % 100;
    // On keys without a limit, revoke when many are tracked: records stay small.
    if (!k.key.evicting && k.live.size() >= 2 * kMaxPerKey && !k.failing) {
      return BeginDeleteOne(k, op, rng);
    }
    // While the key's requests fail, only logins and Checks until one
    // answers (as a user would retry): a failed revoke leaves a session's
    // fate unknown, and revokes failing through an outage would leave no
    // session whose loss could be told.
    if (!k.failing && PopVerify(k, op)) {
      op.start = ++seq_;
      return op;
    }
    if (r < 60 || k.failing) {
      if (r < 25 || k.live.empty()) return BeginSet(k, op);
      op.kind = RaceOp::kCheckLive;
      op.session = k.live[rng() % k.live.size()];
      op.cookie = op.session->cookie;
    } else if (r < 68 && !k.revoked.empty()) {
      op.kind = RaceOp::kCheckRevoked;
      op.session = k.revoked[rng() % k.revoked.size()];
      op.cookie = op.session->cookie;
    } else if (r < 72) {
      if (k.forged.empty()) return BeginSet(k, op);
      op.kind = RaceOp::kCheckForged;
      op.cookie = k.forged;
    } else if (r < 96) {
      if (k.live.empty()) return BeginSet(k, op);
      return BeginDeleteOne(k, op, rng);
    } else {
      op.kind = RaceOp::kDeleteAll;
      op.covered = k.live;
      for (auto& s : op.covered) ++s->removals;
      ++k.delete_alls_running;
    }
    op.start = ++seq_;
    return op;
  }

  void Done(const RaceOp& op, const Result<Issued>& issued) {
    KeyState& k = *keys_[op.key];
    std::lock_guard lock(k.mu);
    --k.sets_running;
    ++k.sets_ended;
    if (!issued.ok()) return Failed(k, IsStoreError(issued.error()));
    Answered(k);
    auto s = std::make_shared<RaceOp::Tracked>();
    s->cookie = CookieOf(*issued);
    s->id = issued->session.id;
    s->sets_ended_before = op.sets_ended_before;
    // A Delete(key) under way, or one that ended after this Set began, may
    // have been written after it.
    if (k.delete_alls_running > 0 || k.last_delete_all_end > op.start) s->state = RaceOp::Tracked::kMaybe;
    if (k.forged.empty()) k.forged = Forged(s->cookie);
    k.live.push_back(std::move(s));
    acked_sets.fetch_add(1);
  }

  void Done(const RaceOp& op, const CheckResult& c) {
    KeyState& k = *keys_[op.key];
    std::lock_guard lock(k.mu);
    if (c.status == CheckStatus::kStoreError) return Failed(k, true);
    Answered(k);
    if (c.status != CheckStatus::kOk && c.status != CheckStatus::kUnknown) {
      unexpected.fetch_add(1);
      return;
    }
    if (op.kind == RaceOp::kCheckForged) {
      if (c.ok()) wrong_grants.fetch_add(1);
      return;
    }
    RaceOp::Tracked& s = *op.session;
    if (c.ok()) {
      if (c.session.id != s.id || c.session.key != k.key.name) wrong_grants.fetch_add(1);
      if (s.state == RaceOp::Tracked::kRevoked && op.start > s.revoked_at) CameBack(s);
      return;
    }
    Gone(k, op.session);
  }

  void Done(const RaceOp& op, const Result<std::size_t>& deleted) {
    KeyState& k = *keys_[op.key];
    std::lock_guard lock(k.mu);
    if (op.kind == RaceOp::kDeleteAll) {
      --k.delete_alls_running;
      k.last_delete_all_end = ++seq_;  // a failed one may have been written until now
    }
    const auto& covered = op.kind == RaceOp::kDeleteAll ? op.covered
                                                        : std::vector<std::shared_ptr<RaceOp::Tracked>>{op.session};
    for (const auto& s : covered) {
      --s->removals;
      if (s->state == RaceOp::Tracked::kRevoked) continue;
      if (!deleted.ok()) {
        s->state = RaceOp::Tracked::kMaybe;
        continue;
      }
      s->state = RaceOp::Tracked::kRevoked;
      s->revoked_at = ++seq_;
      Untrack(k, s);
      k.revoked.push_back(s);
      if (k.revoked.size() > kRevokedKept) k.revoked.pop_front();
      acked_revokes.fetch_add(1);
    }
    if (!deleted.ok()) Failed(k, IsStoreError(deleted.error()));
    else Answered(k);
  }

  /// After the workers stopped: checks every tracked session once more with
  /// `check` (no other call runs now).
  void FinalSweep(const std::function<CheckResult(const std::string&)>& check) {
    for (auto& kp : keys_) {
      KeyState& k = *kp;
      std::lock_guard lock(k.mu);
      for (const auto& s : std::vector(k.live)) {
        const CheckResult c = check(s->cookie);
        if (c.status == CheckStatus::kStoreError) final_errors.fetch_add(1);
        else if (c.status == CheckStatus::kUnknown) Gone(k, s);
        else if (!c.ok() || c.session.id != s->id) unexpected.fetch_add(1);
      }
      for (const auto& s : k.revoked) {
        const CheckResult c = check(s->cookie);
        if (c.ok()) CameBack(*s);
        if (c.status == CheckStatus::kStoreError) final_errors.fetch_add(1);
      }
    }
  }

  /// Milliseconds since the last store error (since the start without any).
  long long QuietMs() const { return Ms(Clock::now()) - last_error_ms_.load(); }
  /// From MarkFault to the last store error (0 without one after it).
  long long RecoveryMs() const { return std::max(0LL, last_error_ms_.load() - Ms(fault_at_)); }

  std::atomic<long long> requests{0};
  std::atomic<long long> acked_sets{0};
  std::atomic<long long> acked_revokes{0};
  std::atomic<long long> store_errors{0};
  std::atomic<long long> store_errors_untargeted{0};  ///< on keys the fault is not about
  std::atomic<long long> wrong_grants{0};
  std::atomic<long long> revoked_back{0};  ///< sessions, each counted once
  std::atomic<long long> lost{0};
  std::atomic<long long> lost_untargeted{0};
  std::atomic<long long> evicted{0};  ///< gone, and a Set may have evicted them
  std::atomic<long long> unexpected{0};  ///< any other answer (expired, conflict, ...)
  std::atomic<long long> final_errors{0};  ///< store errors in the final sweep

 private:
  // Revoked sessions kept per key for Checks and the final sweep: enough
  // to reach back past an outage (about 70 revokes per key and second).
  static constexpr std::size_t kRevokedKept = 512;
  // Revoked sessions checked again when a key answers after failing.
  static constexpr std::size_t kVerifyRevoked = 64;

  struct KeyState {
    std::mutex mu;
    RaceKey key;
    std::vector<std::shared_ptr<RaceOp::Tracked>> live;  // acknowledged, not surely revoked
    std::deque<std::shared_ptr<RaceOp::Tracked>> revoked;
    std::string forged;  // a cookie of this key whose token was never issued
    long sets_ended = 0;
    int sets_running = 0;
    int delete_alls_running = 0;
    std::uint64_t last_delete_all_end = 0;
    bool failing = false;  // the last answer about this key was a store error
    // Sessions to check first once the key answers again after failing.
    std::vector<std::shared_ptr<RaceOp::Tracked>> verify;
  };

  // A request about `k` was answered. The first answer after failures
  // queues a Check of every tracked session and of the latest revoked
  // ones: what an outage lost or brought back is seen before later
  // requests (evictions, revokes of the whole key) hide it.
  void Answered(KeyState& k) {
    if (!k.failing) return;
    k.failing = false;
    k.verify = k.live;
    const std::size_t recent = std::min<std::size_t>(k.revoked.size(), kVerifyRevoked);
    k.verify.insert(k.verify.end(), k.revoked.end() - static_cast<std::ptrdiff_t>(recent), k.revoked.end());
  }

  // Makes `op` the next queued Check of `k`, if any is left.
  static bool PopVerify(KeyState& k, RaceOp& op) {
    while (!k.verify.empty()) {
      std::shared_ptr<RaceOp::Tracked> s = std::move(k.verify.back());
      k.verify.pop_back();
      if (s->state == RaceOp::Tracked::kRevoked) {
        op.kind = RaceOp::kCheckRevoked;
      } else if (std::find(k.live.begin(), k.live.end(), s) != k.live.end()) {
        op.kind = RaceOp::kCheckLive;
      } else {
        continue;  // found gone meanwhile
      }
      op.cookie = s->cookie;
      op.session = std::move(s);
      return true;
    }
    return false;
  }

  RaceOp BeginSet(KeyState& k, RaceOp& op) {
    op.kind = RaceOp::kSet;
    op.sets_ended_before = k.sets_ended;
    ++k.sets_running;
    op.start = ++seq_;
    return op;
  }

  RaceOp BeginDeleteOne(KeyState& k, RaceOp& op, std::mt19937& rng) {
    op.kind = RaceOp::kDeleteOne;
    op.session = k.live[rng() % k.live.size()];
    op.id = op.session->id;
    ++op.session->removals;
    op.start = ++seq_;
    return op;
  }

  static std::string Forged(std::string cookie) {
    char& ch = cookie[cookie.size() - 5];
    ch = ch == 'A' ? 'B' : 'A';
    return cookie;
  }

  static void Untrack(KeyState& k, const std::shared_ptr<RaceOp::Tracked>& s) {
    k.live.erase(std::remove(k.live.begin(), k.live.end(), s), k.live.end());
  }

  // `s` checked as unknown: revoked or possibly removed (fine), evicted, or lost.
  void Gone(KeyState& k, const std::shared_ptr<RaceOp::Tracked>& s) {
    if (s->state == RaceOp::Tracked::kRevoked || s->removals > 0) return;
    if (s->state == RaceOp::Tracked::kLive) {
      // Other Sets that ended after this one began, or are under way.
      const long later = k.sets_ended - s->sets_ended_before - 1 + k.sets_running;
      if (k.key.evicting && later >= static_cast<long>(kMaxPerKey)) {
        evicted.fetch_add(1);
      } else {
        lost.fetch_add(1);
        if (!k.key.targeted) lost_untargeted.fetch_add(1);
      }
    }
    Untrack(k, s);
  }

  void CameBack(RaceOp::Tracked& s) {
    if (!s.came_back) revoked_back.fetch_add(1);
    s.came_back = true;
  }

  void Failed(KeyState& k, bool store_error) {
    if (!store_error) {
      unexpected.fetch_add(1);
      return;
    }
    store_errors.fetch_add(1);
    k.failing = true;
    if (!k.key.targeted) store_errors_untargeted.fetch_add(1);
    last_error_ms_.store(Ms(Clock::now()));
  }

  long long Ms(Clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - start_).count();
  }

  std::vector<std::unique_ptr<KeyState>> keys_;
  std::atomic<std::uint64_t> seq_{0};
  const Clock::time_point start_ = Clock::now();
  Clock::time_point fault_at_ = start_;
  std::atomic<long long> last_error_ms_{0};
};

}  // namespace jeff::test
