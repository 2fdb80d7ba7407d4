#pragma once
// A login/check/revoke workload run through Sessions while a test breaks and
// repairs the store's servers (kills a node, promotes a standby): it counts
// what users would see. Each thread owns its own keys, so every answer has
// one expected value:
//  - a Check of the key's acknowledged session says OK, or the store failed
//    (store_errors), or the session is gone (lost);
//  - a Check of a cookie that never existed (forged token) is never OK
//    (wrong_grants);
//  - a Check of a session whose Delete was acknowledged is never OK
//    (resurrected), during the run nor in the final sweep.
// A call that failed leaves its session's fate unknown: it is not tracked.

#include <jeff/sessions.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/cookies.hpp"

namespace jeff::test {

class FailoverWorkload {
 public:
  using Clock = std::chrono::steady_clock;

  /// `owner(store_key)`: the index of the node that holds a store key (0
  /// for a single primary). Called once per key before the run.
  FailoverWorkload(Sessions& sessions, std::string key_prefix, int keys, int threads,
                   std::function<int(const std::string&)> owner)
      : sessions_(sessions), prefix_(std::move(key_prefix)), threads_(threads),
        owner_(std::move(owner)), slots_(static_cast<std::size_t>(keys)) {}

  ~FailoverWorkload() { Stop(); }

  /// Logs every key in once (all must succeed) and finds its owner node.
  void Prepare() {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      s.key = "user-" + std::to_string(i) + "@example.com";
      auto issued = sessions_.Set(s.key, "device");
      REQUIRE(issued.ok());
      s.cookie = CookieOf(*issued);
      s.id = issued->session.id;
      const std::string value = s.cookie.substr(s.cookie.find('=') + 1);
      s.owner = owner_(prefix_ + value.substr(0, value.find('.')));
    }
  }

  /// The number of keys whose owner is `node`.
  int KeysOn(int node) const {
    return static_cast<int>(std::count_if(slots_.begin(), slots_.end(),
                                          [&](const Slot& s) { return s.owner == node; }));
  }

  /// Starts the threads; `faulty` is the node the test is about to break.
  void Start(int faulty) {
    faulty_ = faulty;
    start_ = Clock::now();
    for (int t = 0; t < threads_; ++t) workers_.emplace_back([this, t] { Work(t); });
  }

  /// Call right before breaking the node.
  void MarkFault() { fault_ms_ = Since(start_); }

  /// Milliseconds since the last request that failed with a store error.
  long long QuietMs() const { return Since(start_) - last_error_ms_.load(); }

  /// Stops and joins the threads, then checks every tracked cookie again.
  void Stop() {
    if (workers_.empty()) return;
    stop_ = true;
    for (auto& w : workers_) w.join();
    workers_.clear();
    for (Slot& s : slots_) {
      if (!s.cookie.empty()) {
        const CheckResult r = sessions_.Check(s.cookie);
        if (r.status == CheckStatus::kUnknown) Lost(s);
        if (r.status == CheckStatus::kStoreError) final_errors.fetch_add(1);
      }
      for (const std::string& c : s.revoked) {
        if (sessions_.Check(c).ok()) resurrected.fetch_add(1);
      }
    }
  }

  /// From the fault to the last store error (0 without errors).
  long long RecoveryMs() const {
    const long long last = last_error_ms_.load();
    return last < 0 ? 0 : std::max(0LL, last - fault_ms_);
  }

  std::atomic<long long> requests{0};
  std::atomic<long long> store_errors{0};
  std::atomic<long long> store_errors_other_nodes{0};  ///< on keys not on the faulty node
  std::atomic<long long> wrong_grants{0};
  std::atomic<long long> resurrected{0};
  std::atomic<long long> unexpected{0};  ///< any other answer (expired, malformed, ...)
  std::atomic<long long> lost_on_faulty{0};
  std::atomic<long long> lost_elsewhere{0};
  std::atomic<long long> final_errors{0};  ///< store errors in the final sweep

 private:
  struct Slot {
    std::string key;
    std::string cookie;  // the acknowledged live session; empty: none known
    SessionId id{};
    std::vector<std::string> revoked;  // cookies of acknowledged Deletes
    int owner = -1;
    bool uncertain = false;  // a Delete of `cookie` failed
    bool retrying = false;   // the last call failed: only Checks until one answers
  };

  static long long Since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
  }

  void Failed(Slot& s) {
    s.retrying = true;
    store_errors.fetch_add(1);
    if (s.owner != faulty_) store_errors_other_nodes.fetch_add(1);
    last_error_ms_.store(Since(start_));
  }

  void Lost(Slot& s) {
    if (!s.uncertain) (s.owner == faulty_ ? lost_on_faulty : lost_elsewhere).fetch_add(1);
    s.cookie.clear();
    s.uncertain = false;
  }

  void Login(Slot& s) {
    requests.fetch_add(1);
    auto issued = sessions_.Set(s.key, "device");
    if (!issued.ok()) {
      if (IsStoreError(issued.error())) Failed(s); else unexpected.fetch_add(1);
      return;
    }
    s.cookie = CookieOf(*issued);
    s.id = issued->session.id;
    s.retrying = false;
  }

  void Step(Slot& s, std::mt19937& rng) {
    if (s.cookie.empty()) return Login(s);
    const unsigned r = s.retrying ? 0 : rng() % 10;
    requests.fetch_add(1);
    if (r < 6) {  // check the live session
      const CheckResult c = sessions_.Check(s.cookie);
      if (c.status == CheckStatus::kStoreError) return Failed(s);
      s.retrying = false;
      if (c.status == CheckStatus::kUnknown) Lost(s);
      else if (!c.ok() || c.session.id != s.id) unexpected.fetch_add(1);
    } else if (r == 6) {  // a token that was never issued
      std::string forged = s.cookie;
      char& ch = forged[forged.size() - 5];
      ch = ch == 'A' ? 'B' : 'A';
      const CheckResult c = sessions_.Check(forged);
      if (c.ok()) wrong_grants.fetch_add(1);
      else if (c.status == CheckStatus::kStoreError) Failed(s);
    } else if (r == 7) {  // a revoked session
      if (s.revoked.empty()) return;
      const CheckResult c = sessions_.Check(s.revoked[rng() % s.revoked.size()]);
      if (c.ok()) resurrected.fetch_add(1);
      else if (c.status == CheckStatus::kStoreError) Failed(s);
    } else {  // revoke the session, log in again
      auto deleted = sessions_.Delete(s.key, std::span<const SessionId>(&s.id, 1));
      if (deleted.ok()) {
        if (s.revoked.size() == 8) s.revoked.erase(s.revoked.begin());
        s.revoked.push_back(s.cookie);
      } else {
        // The session may or may not be gone: keep checking it, but a miss
        // is then no loss.
        if (IsStoreError(deleted.error())) Failed(s); else unexpected.fetch_add(1);
        s.uncertain = true;
        return;
      }
      s.cookie.clear();
      s.uncertain = false;
      Login(s);
    }
  }

  void Work(int t) {
    std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
    while (!stop_) {
      for (std::size_t i = static_cast<std::size_t>(t); i < slots_.size() && !stop_;
           i += static_cast<std::size_t>(threads_)) {
        Step(slots_[i], rng);
        // Pace the load: the machine is shared, and the counts need time, not volume.
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
  }

  Sessions& sessions_;
  std::string prefix_;
  int threads_;
  std::function<int(const std::string&)> owner_;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  int faulty_ = -1;
  Clock::time_point start_;
  long long fault_ms_ = 0;
  std::atomic<long long> last_error_ms_{-1};
};

/// Prints the counts of a run (doctest MESSAGE).
inline void PrintCounts(const std::string& scenario, const FailoverWorkload& w) {
  MESSAGE(scenario << ": requests=" << w.requests.load() << " store_errors=" << w.store_errors.load()
                   << " store_errors_other_nodes=" << w.store_errors_other_nodes.load()
                   << " wrong_grants=" << w.wrong_grants.load()
                   << " resurrected=" << w.resurrected.load() << " unexpected=" << w.unexpected.load()
                   << " lost_on_faulty_node=" << w.lost_on_faulty.load()
                   << " lost_elsewhere=" << w.lost_elsewhere.load()
                   << " recovery_ms=" << w.RecoveryMs());
}

/// Ends a run: waits until no request has failed for 2 s (polled, at most
/// `limit`), stops the workload, prints its counts, and checks what no
/// scenario may show: a wrong grant, an unexpected answer, an error left
/// after recovery. With `keeps_all`, also no acknowledged session lost and
/// no revoked one back. `faulty_node_only`: no error, no loss on the keys of
/// the other nodes.
inline void FinishRun(FailoverWorkload& w, const std::string& scenario, bool keeps_all,
                      bool faulty_node_only, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = FailoverWorkload::Clock::now() + limit;
  while (w.QuietMs() < 2000 && FailoverWorkload::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  w.Stop();
  PrintCounts(scenario, w);
  CHECK(w.QuietMs() >= 2000);
  CHECK(w.wrong_grants.load() == 0);
  CHECK(w.unexpected.load() == 0);
  CHECK(w.final_errors.load() == 0);
  if (faulty_node_only) {
    CHECK(w.store_errors_other_nodes.load() == 0);
    CHECK(w.lost_elsewhere.load() == 0);
  }
  if (keeps_all) {
    CHECK(w.lost_on_faulty.load() == 0);
    CHECK(w.resurrected.load() == 0);
  }
}

}  // namespace jeff::test
