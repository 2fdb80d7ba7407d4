#pragma once
// Sessions-level race suite, run against every store: concurrent logins for
// one key lose nothing, a revoked session never comes back (the two races Go
// jeff documents), and of two concurrent Rotates with one cookie exactly one
// wins. Call RunSessionsRaces from a TEST_CASE.
//
// A race check proves something only when the calls did run at the same
// time: each revoke or rotate trial counts whether its calls overlapped
// (RaceOverlap), and the suite requires that some did.

#include "support/cookies.hpp"
#include "support/timing.hpp"

#include <doctest/doctest.h>
#include <jeff/detail/record.hpp>
#include <jeff/sessions.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jeff::test {

// Logins per writer in the one-key login race (see RaceHarness).
inline constexpr int kRaceSetsPerWriter = kSanitized ? 50 : 200;

struct RaceHarness {
  std::shared_ptr<Store> store;
  int threads = 8;
  /// 8 × 200 logins on one key make a record of 1,600 sessions rewritten by
  /// every CAS (quadratic in the count); sanitizer builds look for memory and
  /// thread errors, which 8 × 50 exercises as well at a sixteenth of the work
  /// (8 × 200 under ThreadSanitizer on a loaded CI machine took minutes).
  int sets_per_thread = kRaceSetsPerWriter;
  int revoke_trials = 20;  ///< per revoke subcase, and of double Rotates (see RaceTrials)
};

// Whether one call (a revoke) overlapped any of a group of others (logins)
// in time: some login started before the revoke returned and ended after it
// began, i.e. more logins had started when it returned than had ended when
// it began. Works for threads (atomics) and coroutines on one loop alike.
struct RaceOverlap {
  std::atomic<int> started{0};
  std::atomic<int> done{0};
  int done_at_start = 0;

  template <typename F>
  decltype(auto) Other(F&& call) {
    started.fetch_add(1);
    struct Done {
      std::atomic<int>& done;
      ~Done() { done.fetch_add(1); }
    } mark{done};
    return call();
  }
  void BeginOne() { done_at_start = done.load(); }
  /// Call when the one call returned: whether it overlapped another.
  bool EndOne() const { return started.load() > done_at_start; }
};

// Threads that start a race together: each spins until all have arrived,
// so that none is still being scheduled when the others begin (yielding
// only now and then: a yield can cost a time slice on a loaded machine).
struct StartLine {
  explicit StartLine(int threads) : waiting(threads) {}
  void ArriveAndWait() {
    waiting.fetch_sub(1);
    for (unsigned spins = 1; waiting.load() > 0; ++spins) {
      if (spins % 4096 == 0) std::this_thread::yield();
    }
  }
  std::atomic<int> waiting;
};

// How long a race check keeps adding trials while none has overlapped.
inline constexpr std::chrono::seconds kRaceOverlapPatience{15};

// The trials of one race check: at least `minimum`, and then more until one
// of them overlapped, for at most kRaceOverlapPatience since construction
// (and 1000 times `minimum`). Calls on a fast store take microseconds, so
// most trials run one call after the other there; on a loaded machine with
// the threads sharing a core, only a preemption inside a call makes them
// overlap, so a fixed number of extra trials (once 50 times as many) can
// see none.
//   RaceTrials trials(20);
//   for (; trials.More(); trials.Next()) { ...; if (overlapped) trials.Overlapped(); }
//   CHECK(trials.raced() > 0);
class RaceTrials {
 public:
  explicit RaceTrials(int minimum)
      : minimum_(minimum), began_(std::chrono::steady_clock::now()) {}

  /// Whether to run another trial.
  bool More() const {
    if (count_ < minimum_) return true;
    return raced_ == 0 && count_ < 1000 * minimum_ &&
           std::chrono::steady_clock::now() - began_ < kRaceOverlapPatience;
  }
  /// Ends the current trial.
  void Next() { ++count_; }
  /// Records that the current trial's calls overlapped.
  void Overlapped() { ++raced_; }
  /// Trials ended so far (the current trial's index inside the loop).
  int count() const { return count_; }
  /// Trials whose calls overlapped.
  int raced() const { return raced_; }

 private:
  int minimum_;
  std::chrono::steady_clock::time_point began_;
  int count_ = 0;
  int raced_ = 0;
};

inline Options RaceOptions(std::shared_ptr<Store> store) {
  Options o;
  o.store = std::move(store);
  o.max_sessions_per_key = 0;
  o.cas_attempts = 100000;  // contention here is extreme by design; nothing may fail
  o.cas_backoff = std::chrono::milliseconds(2);
  o.key_prefix = "race" + std::to_string(std::random_device{}()) + ":";
  return o;
}

// Checks that `list` holds `count` sessions, no id twice.
inline void CheckDistinctSessions(const Result<std::vector<Session>>& list, std::size_t count) {
  REQUIRE(list.ok());
  CHECK(list->size() == count);
  std::set<SessionId> ids;
  for (const Session& s : *list) ids.insert(s.id);
  CHECK(ids.size() == list->size());
}

inline constexpr const char* kOldPepper = "old pepper of the race";
inline constexpr const char* kNewPepper = "new pepper of the race";

// `options` with pepper `pepper` and `read_peppers` `read`.
inline Options WithPeppers(Options options, std::string pepper, std::vector<std::string> read) {
  options.pepper = std::move(pepper);
  options.read_peppers = std::move(read);
  return options;
}

// `options` as a server of step 2 that moves records (Options::move_records).
inline Options Mover(Options options) {
  options.move_records = true;
  return options;
}

// Whether `key`'s record under the old pepper of the race is gone or
// frozen (moved to the new pepper's key id).
inline bool OldRecordMoved(Store& store, const Options& options, std::string_view key) {
  auto fetched = store.Fetch(options.key_prefix + KeyId(key, kOldPepper));
  REQUIRE(fetched.ok());
  if (!fetched->has_value()) return true;
  auto record = DecodeRecord((*fetched)->value);
  REQUIRE(record.ok());
  return record->moved_to && record->moved_to->kid == KeyId(key, kNewPepper);
}

inline void RunSessionsRaces(const RaceHarness& h) {
  Sessions sessions(RaceOptions(h.store));

  SUBCASE("concurrent logins for one key lose no session") {
    const std::string key = "racer@example.com";
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < h.threads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < h.sets_per_thread; ++i) {
          if (!sessions.Set(key, "device").ok()) failures.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
    auto list = sessions.SessionsForKey(key);
    REQUIRE(list.ok());
    CHECK(list->size() == static_cast<std::size_t>(h.threads * h.sets_per_thread));
    std::set<SessionId> ids;
    for (const Session& s : *list) ids.insert(s.id);
    CHECK(ids.size() == list->size());
  }

  SUBCASE("a revoked session never comes back while logins and touches race") {
    int resurrected = 0;
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string key = "revoke-" + std::to_string(trial) + "@example.com";
      auto victim = sessions.Set(key, "victim");
      REQUIRE(victim.ok());
      const std::string cookie = CookieOf(*victim);
      StartLine start(4);
      RaceOverlap overlap;
      std::vector<std::thread> threads;
      for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&] {
          start.ArriveAndWait();
          for (int i = 0; i < 5; ++i) (void)overlap.Other([&] { return sessions.Set(key, "racer"); });
        });
      }
      threads.emplace_back([&] {
        start.ArriveAndWait();
        const SessionId id = victim->session.id;
        overlap.BeginOne();
        CHECK(sessions.Delete(key, std::span<const SessionId>(&id, 1)).ok());
        if (overlap.EndOne()) trials.Overlapped();
      });
      for (auto& t : threads) t.join();
      auto list = sessions.SessionsForKey(key);
      REQUIRE(list.ok());
      CHECK(list->size() == 15);
      for (const Session& s : *list) {
        if (s.id == victim->session.id) ++resurrected;
      }
      CHECK(sessions.Check(cookie).status == CheckStatus::kUnknown);
    }
    MESSAGE("the revoke overlapped logins in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
    CHECK(resurrected == 0);
  }

  SUBCASE("while the pepper rotates, logins on both rings lose nothing and a revoke is final") {
    // Step 2 of the rollout: half the servers still store under the old
    // pepper (reading the new), half under the new (reading the old), and
    // these move what they find under the old one (move_records).
    const Options base = RaceOptions(h.store);
    Sessions old_ring(WithPeppers(base, kOldPepper, {kNewPepper}));
    Sessions new_ring(Mover(WithPeppers(base, kNewPepper, {kOldPepper})));
    Sessions new_only(WithPeppers(base, kNewPepper, {}));
    Sessions* rings[] = {&new_ring, &old_ring};
    const std::string key = "rotating@example.com";
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < h.threads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < h.sets_per_thread; ++i) {
          if (!rings[t % 2]->Set(key, "device").ok()) failures.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
    for (Sessions* ring : rings) {
      CheckDistinctSessions(ring->SessionsForKey(key), static_cast<std::size_t>(h.threads * h.sets_per_thread));
    }
    // All of them under the new pepper's key id now: step 3 sees every one.
    CHECK(OldRecordMoved(*h.store, base, key));
    CheckDistinctSessions(new_only.SessionsForKey(key), static_cast<std::size_t>(h.threads * h.sets_per_thread));

    int resurrected = 0;
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string victim_key = "rotating-revoke-" + std::to_string(trial) + "@example.com";
      auto victim = old_ring.Set(victim_key, "victim");
      REQUIRE(victim.ok());
      StartLine start(4);
      RaceOverlap overlap;
      std::vector<std::thread> racers;
      for (int t = 0; t < 3; ++t) {
        racers.emplace_back([&, t] {
          start.ArriveAndWait();
          for (int i = 0; i < 5; ++i) {
            (void)overlap.Other([&] { return rings[(t + i) % 2]->Set(victim_key, "racer"); });
          }
        });
      }
      racers.emplace_back([&] {
        start.ArriveAndWait();
        const SessionId id = victim->session.id;
        overlap.BeginOne();
        CHECK(new_ring.Delete(victim_key, std::span<const SessionId>(&id, 1)).value() == 1);
        if (overlap.EndOne()) trials.Overlapped();
      });
      for (auto& t : racers) t.join();
      auto list = old_ring.SessionsForKey(victim_key);
      REQUIRE(list.ok());
      CHECK(list->size() == 15);
      for (const Session& s : *list) {
        if (s.id == victim->session.id) ++resurrected;
      }
      CHECK(new_ring.Check(CookieOf(*victim)).status == CheckStatus::kUnknown);
      CHECK(OldRecordMoved(*h.store, base, victim_key));
      CHECK(new_only.SessionsForKey(victim_key)->size() == 15);
    }
    MESSAGE("the revoke overlapped logins on both rings in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
    CHECK(resurrected == 0);
  }

  SUBCASE("revoking all sessions of a key is final for every session it saw") {
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string key = "delete-all-" + std::to_string(trial) + "@example.com";
      std::vector<std::string> cookies;
      for (int i = 0; i < 10; ++i) {
        auto issued = sessions.Set(key, "old");
        REQUIRE(issued.ok());
        cookies.push_back(CookieOf(*issued));
      }
      StartLine start(2);
      RaceOverlap overlap;
      std::thread login([&] {
        start.ArriveAndWait();
        for (int i = 0; i < 10; ++i) (void)overlap.Other([&] { return sessions.Set(key, "new"); });
      });
      std::thread revoke([&] {
        start.ArriveAndWait();
        overlap.BeginOne();
        CHECK(sessions.Delete(key).ok());
        if (overlap.EndOne()) trials.Overlapped();
      });
      login.join();
      revoke.join();
      for (const std::string& c : cookies) CHECK(sessions.Check(c).status == CheckStatus::kUnknown);
      auto list = sessions.SessionsForKey(key);
      REQUIRE(list.ok());
      CHECK(list->size() <= 10);
      for (const Session& s : *list) CHECK(s.meta == "new");
    }
    MESSAGE("Delete(key) overlapped logins in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
  }

  SUBCASE("of concurrent Rotates with one cookie, exactly one wins") {
    constexpr int kRotates = 4;
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string key = "rotate-" + std::to_string(trial) + "@example.com";
      auto issued = sessions.Set(key, "device");
      REQUIRE(issued.ok());
      const std::string cookie = CookieOf(*issued);
      StartLine start(kRotates);
      RaceOverlap overlap;
      std::vector<Result<Issued>> rotated(kRotates, Errc::kStoreUnavailable);
      std::vector<std::thread> threads;
      for (int t = 1; t < kRotates; ++t) {
        threads.emplace_back([&, t] {
          start.ArriveAndWait();
          rotated[t] = overlap.Other([&] { return sessions.Rotate(cookie); });
        });
      }
      threads.emplace_back([&] {
        start.ArriveAndWait();
        overlap.BeginOne();
        rotated[0] = sessions.Rotate(cookie);
        if (overlap.EndOne()) trials.Overlapped();
      });
      for (auto& t : threads) t.join();
      const auto winner = std::find_if(rotated.begin(), rotated.end(),
                                       [](const Result<Issued>& r) { return r.ok(); });
      CHECK(std::count_if(rotated.begin(), rotated.end(), [](const Result<Issued>& r) { return r.ok(); }) == 1);
      for (const Result<Issued>& r : rotated) {
        if (!r.ok()) CHECK(r.error() == Errc::kSessionNotFound);
      }
      REQUIRE(winner != rotated.end());
      CHECK((*winner)->session.id == issued->session.id);
      CHECK(sessions.Check(CookieOf(**winner)).ok());
      CHECK(sessions.Check(cookie).status == CheckStatus::kUnknown);
      auto list = sessions.SessionsForKey(key);
      REQUIRE(list.ok());
      CHECK(list->size() == 1);
    }
    MESSAGE("the Rotates overlapped in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
  }
}

}  // namespace jeff::test
