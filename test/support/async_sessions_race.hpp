#pragma once
// The Sessions-level race suite (support/sessions_race.hpp) for AsyncSessions
// on an AsyncStore: coroutines on one io_context instead of threads.
// Concurrent logins for one key lose nothing; a revoked session never comes
// back; Delete(key) is final for every session it saw; of two concurrent
// Rotates with one cookie exactly one wins. As there, each trial counts
// whether its calls overlapped (RaceOverlap) and some must have. Call
// RunAsyncSessionsRaces from a TEST_CASE.

#include "support/cookies.hpp"
#include "support/sessions_race.hpp"

#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace jeff::test {

struct AsyncRaceHarness {
  // Makes the store on the given loop (the store's own event loop).
  std::function<std::shared_ptr<AsyncStore>(boost::asio::io_context&)> make_store;
  int coroutines = 8;
  int sets_per_coroutine = kRaceSetsPerWriter;  ///< as RaceHarness::sets_per_thread
  int revoke_trials = 20;  ///< per revoke subcase, and of double Rotates (see RaceTrials)
};

// Runs `bodies` as concurrent coroutines on `ioc` until all have finished
// (not until the loop runs dry: a store may keep reads pending on idle
// connections), then rethrows the first exception one of them threw. Fails
// the test after `limit`.
inline void RunCoroutines(boost::asio::io_context& ioc,
                          std::vector<std::function<boost::asio::awaitable<void>()>> bodies,
                          std::chrono::milliseconds limit = std::chrono::minutes(5)) {
  std::exception_ptr failure;
  std::size_t running = bodies.size();
  for (auto& body : bodies) {
    boost::asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
      --running;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  ioc.restart();
  while (running != 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    ioc.run_one_for(std::chrono::milliseconds(50));
    if (ioc.stopped()) ioc.restart();
  }
  if (failure) std::rethrow_exception(failure);
}

// Runs one coroutine to completion (see RunCoroutines).
inline void RunCoroutine(boost::asio::io_context& ioc, std::function<boost::asio::awaitable<void>()> body) {
  RunCoroutines(ioc, {std::move(body)});
}

inline void RunAsyncSessionsRaces(const AsyncRaceHarness& h) {
  using boost::asio::awaitable;
  using boost::asio::use_awaitable;
  boost::asio::io_context ioc;
  Options options = RaceOptions(nullptr);
  AsyncSessions sessions(options, h.make_store(ioc), ioc.get_executor());

  SUBCASE("concurrent logins for one key lose no session") {
    const std::string key = "racer@example.com";
    int failures = 0;
    std::vector<std::function<awaitable<void>()>> logins;
    for (int c = 0; c < h.coroutines; ++c) {
      logins.push_back([&]() -> awaitable<void> {
        for (int i = 0; i < h.sets_per_coroutine; ++i) {
          auto issued = co_await sessions.Set(key, "device", use_awaitable);
          if (!issued.ok()) ++failures;
        }
      });
    }
    RunCoroutines(ioc, std::move(logins));
    CHECK(failures == 0);
    RunCoroutine(ioc, [&]() -> awaitable<void> {
      auto list = co_await sessions.SessionsForKey(key, use_awaitable);
      REQUIRE(list.ok());
      CHECK(list->size() == static_cast<std::size_t>(h.coroutines * h.sets_per_coroutine));
      std::set<SessionId> ids;
      for (const Session& s : *list) ids.insert(s.id);
      CHECK(ids.size() == list->size());
    });
  }

  SUBCASE("a revoked session never comes back while logins and touches race") {
    int resurrected = 0;
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string key = "revoke-" + std::to_string(trial) + "@example.com";
      std::optional<Issued> victim;
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto issued = co_await sessions.Set(key, "victim", use_awaitable);
        REQUIRE(issued.ok());
        victim = std::move(*issued);
      });
      RaceOverlap overlap;
      std::vector<std::function<awaitable<void>()>> racers;
      for (int c = 0; c < 3; ++c) {
        racers.push_back([&]() -> awaitable<void> {
          for (int i = 0; i < 5; ++i) {
            overlap.started.fetch_add(1);
            (void)co_await sessions.Set(key, "racer", use_awaitable);
            overlap.done.fetch_add(1);
          }
        });
      }
      racers.push_back([&]() -> awaitable<void> {
        const std::vector<SessionId> ids{victim->session.id};
        overlap.BeginOne();
        auto removed = co_await sessions.Delete(key, ids, use_awaitable);
        if (overlap.EndOne()) trials.Overlapped();
        CHECK(removed.ok());
      });
      RunCoroutines(ioc, std::move(racers));
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto list = co_await sessions.SessionsForKey(key, use_awaitable);
        REQUIRE(list.ok());
        CHECK(list->size() == 15);
        for (const Session& s : *list) {
          if (s.id == victim->session.id) ++resurrected;
        }
        auto checked = co_await sessions.Check(CookieOf(*victim), use_awaitable);
        CHECK(checked.status == CheckStatus::kUnknown);
      });
    }
    MESSAGE("the revoke overlapped logins in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
    CHECK(resurrected == 0);
  }

  SUBCASE("while the pepper rotates, logins on both rings lose nothing and a revoke is final") {
    // As in RunSessionsRaces: half the writers on each ring of step 2, the
    // new ring's moving records; step 3 (the new pepper alone) then sees all.
    std::shared_ptr<AsyncStore> store = h.make_store(ioc);
    AsyncSessions old_ring(WithPeppers(options, kOldPepper, {kNewPepper}), store, ioc.get_executor());
    AsyncSessions new_ring(Mover(WithPeppers(options, kNewPepper, {kOldPepper})), store, ioc.get_executor());
    AsyncSessions new_only(WithPeppers(options, kNewPepper, {}), store, ioc.get_executor());
    AsyncSessions* rings[] = {&new_ring, &old_ring};
    const std::string key = "rotating@example.com";
    int failures = 0;
    std::vector<std::function<awaitable<void>()>> logins;
    for (int c = 0; c < h.coroutines; ++c) {
      logins.push_back([&, c]() -> awaitable<void> {
        for (int i = 0; i < h.sets_per_coroutine; ++i) {
          auto issued = co_await rings[c % 2]->Set(key, "device", use_awaitable);
          if (!issued.ok()) ++failures;
        }
      });
    }
    RunCoroutines(ioc, std::move(logins));
    CHECK(failures == 0);
    RunCoroutine(ioc, [&]() -> awaitable<void> {
      for (AsyncSessions* ring : {&new_ring, &old_ring, &new_only}) {
        CheckDistinctSessions(co_await ring->SessionsForKey(key, use_awaitable),
                              static_cast<std::size_t>(h.coroutines * h.sets_per_coroutine));
      }
    });

    int resurrected = 0;
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string victim_key = "rotating-revoke-" + std::to_string(trial) + "@example.com";
      std::optional<Issued> victim;
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto issued = co_await old_ring.Set(victim_key, "victim", use_awaitable);
        REQUIRE(issued.ok());
        victim = std::move(*issued);
      });
      RaceOverlap overlap;
      std::vector<std::function<awaitable<void>()>> racers;
      for (int c = 0; c < 3; ++c) {
        racers.push_back([&, c]() -> awaitable<void> {
          for (int i = 0; i < 5; ++i) {
            overlap.started.fetch_add(1);
            (void)co_await rings[(c + i) % 2]->Set(victim_key, "racer", use_awaitable);
            overlap.done.fetch_add(1);
          }
        });
      }
      racers.push_back([&]() -> awaitable<void> {
        const std::vector<SessionId> ids{victim->session.id};
        overlap.BeginOne();
        auto removed = co_await new_ring.Delete(victim_key, ids, use_awaitable);
        if (overlap.EndOne()) trials.Overlapped();
        CHECK(removed.value() == 1);
      });
      RunCoroutines(ioc, std::move(racers));
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto list = co_await old_ring.SessionsForKey(victim_key, use_awaitable);
        REQUIRE(list.ok());
        CHECK(list->size() == 15);
        for (const Session& s : *list) {
          if (s.id == victim->session.id) ++resurrected;
        }
        auto checked = co_await new_ring.Check(CookieOf(*victim), use_awaitable);
        CHECK(checked.status == CheckStatus::kUnknown);
        auto moved = co_await new_only.SessionsForKey(victim_key, use_awaitable);
        CHECK(moved.value().size() == 15);
      });
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
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        for (int i = 0; i < 10; ++i) {
          auto issued = co_await sessions.Set(key, "old", use_awaitable);
          REQUIRE(issued.ok());
          cookies.push_back(CookieOf(*issued));
        }
      });
      RaceOverlap overlap;
      RunCoroutines(ioc, {[&]() -> awaitable<void> {
                            for (int i = 0; i < 10; ++i) {
                              overlap.started.fetch_add(1);
                              (void)co_await sessions.Set(key, "new", use_awaitable);
                              overlap.done.fetch_add(1);
                            }
                          },
                          [&]() -> awaitable<void> {
                            overlap.BeginOne();
                            auto deleted = co_await sessions.Delete(key, use_awaitable);
                            if (overlap.EndOne()) trials.Overlapped();
                            CHECK(deleted.ok());
                          }});
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        for (const std::string& c : cookies) {
          auto checked = co_await sessions.Check(c, use_awaitable);
          CHECK(checked.status == CheckStatus::kUnknown);
        }
        auto list = co_await sessions.SessionsForKey(key, use_awaitable);
        REQUIRE(list.ok());
        CHECK(list->size() <= 10);
        for (const Session& s : *list) CHECK(s.meta == "new");
      });
    }
    MESSAGE("Delete(key) overlapped logins in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
  }

  SUBCASE("of two concurrent Rotates with one cookie, exactly one wins") {
    RaceTrials trials(h.revoke_trials);
    for (; trials.More(); trials.Next()) {
      const int trial = trials.count();
      const std::string key = "rotate-" + std::to_string(trial) + "@example.com";
      std::optional<Issued> issued;
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto set = co_await sessions.Set(key, "device", use_awaitable);
        REQUIRE(set.ok());
        issued = std::move(*set);
      });
      const std::string cookie = CookieOf(*issued);
      RaceOverlap overlap;
      Result<Issued> rotated[2] = {Errc::kStoreUnavailable, Errc::kStoreUnavailable};
      RunCoroutines(ioc, {[&]() -> awaitable<void> {
                            overlap.BeginOne();
                            rotated[0] = co_await sessions.Rotate(cookie, use_awaitable);
                            if (overlap.EndOne()) trials.Overlapped();
                          },
                          [&]() -> awaitable<void> {
                            overlap.started.fetch_add(1);
                            rotated[1] = co_await sessions.Rotate(cookie, use_awaitable);
                            overlap.done.fetch_add(1);
                          }});
      const int wins = rotated[0].ok() + rotated[1].ok();
      CHECK(wins == 1);
      if (wins != 1) continue;
      const Result<Issued>& winner = rotated[0].ok() ? rotated[0] : rotated[1];
      const Result<Issued>& loser = rotated[0].ok() ? rotated[1] : rotated[0];
      CHECK(loser.error() == Errc::kSessionNotFound);
      CHECK(winner->session.id == issued->session.id);
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto checked = co_await sessions.Check(CookieOf(*winner), use_awaitable);
        CHECK(checked.ok());
        auto old = co_await sessions.Check(cookie, use_awaitable);
        CHECK(old.status == CheckStatus::kUnknown);
        auto list = co_await sessions.SessionsForKey(key, use_awaitable);
        REQUIRE(list.ok());
        CHECK(list->size() == 1);
      });
    }
    MESSAGE("the two Rotates overlapped in " << trials.raced() << " of " << trials.count() << " trials");
    CHECK(trials.raced() > 0);
  }
}

}  // namespace jeff::test
