#pragma once
// The Sessions-level race suite (support/sessions_race.hpp) for AsyncSessions
// on an AsyncStore: coroutines on one io_context instead of threads.
// Concurrent logins for one key lose nothing; a revoked session never comes
// back; Delete(key) is final for every session it saw. Call
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
#include <set>
#include <string>
#include <vector>

namespace jeff::test {

struct AsyncRaceHarness {
  // Makes the store on the given loop (the store's own event loop).
  std::function<std::shared_ptr<AsyncStore>(boost::asio::io_context&)> make_store;
  int coroutines = 8;
  int sets_per_coroutine = 200;
  int revoke_trials = 20;
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
    for (int trial = 0; trial < h.revoke_trials; ++trial) {
      const std::string key = "revoke-" + std::to_string(trial) + "@example.com";
      std::optional<Issued> victim;
      RunCoroutine(ioc, [&]() -> awaitable<void> {
        auto issued = co_await sessions.Set(key, "victim", use_awaitable);
        REQUIRE(issued.ok());
        victim = std::move(*issued);
      });
      std::vector<std::function<awaitable<void>()>> racers;
      for (int c = 0; c < 3; ++c) {
        racers.push_back([&]() -> awaitable<void> {
          for (int i = 0; i < 5; ++i) (void)co_await sessions.Set(key, "racer", use_awaitable);
        });
      }
      racers.push_back([&]() -> awaitable<void> {
        const std::vector<SessionId> ids{victim->session.id};
        auto removed = co_await sessions.Delete(key, ids, use_awaitable);
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
    CHECK(resurrected == 0);
  }

  SUBCASE("revoking all sessions of a key is final for every session it saw") {
    const std::string key = "delete-all@example.com";
    std::vector<std::string> cookies;
    RunCoroutine(ioc, [&]() -> awaitable<void> {
      for (int i = 0; i < 10; ++i) {
        auto issued = co_await sessions.Set(key, "old", use_awaitable);
        REQUIRE(issued.ok());
        cookies.push_back(CookieOf(*issued));
      }
    });
    RunCoroutines(ioc, {[&]() -> awaitable<void> {
                          for (int i = 0; i < 10; ++i) (void)co_await sessions.Set(key, "new", use_awaitable);
                        },
                        [&]() -> awaitable<void> {
                          auto deleted = co_await sessions.Delete(key, use_awaitable);
                          CHECK(deleted.ok());
                        }});
    RunCoroutine(ioc, [&]() -> awaitable<void> {
      for (const std::string& c : cookies) {
        auto checked = co_await sessions.Check(c, use_awaitable);
        CHECK(checked.status == CheckStatus::kUnknown);
      }
      auto list = co_await sessions.SessionsForKey(key, use_awaitable);
      REQUIRE(list.ok());
      for (const Session& s : *list) CHECK(s.meta == "new");
    });
  }
}

}  // namespace jeff::test
