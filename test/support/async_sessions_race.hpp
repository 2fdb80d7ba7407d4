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
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

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

// Runs `body` as a coroutine on `ioc` to completion; rethrows its exception.
inline void RunCoroutine(boost::asio::io_context& ioc, std::function<boost::asio::awaitable<void>()> body) {
  std::exception_ptr failure;
  bool finished = false;
  boost::asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  ioc.restart();
  ioc.run();
  REQUIRE(finished);
  if (failure) std::rethrow_exception(failure);
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
    int running = h.coroutines;
    for (int c = 0; c < h.coroutines; ++c) {
      boost::asio::co_spawn(
          ioc,
          [&]() -> awaitable<void> {
            for (int i = 0; i < h.sets_per_coroutine; ++i) {
              auto issued = co_await sessions.Set(key, "device", use_awaitable);
              if (!issued.ok()) ++failures;
            }
            --running;
          },
          boost::asio::detached);
    }
    ioc.run();
    CHECK(running == 0);
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
      for (int c = 0; c < 3; ++c) {
        boost::asio::co_spawn(
            ioc,
            [&]() -> awaitable<void> {
              for (int i = 0; i < 5; ++i) (void)co_await sessions.Set(key, "racer", use_awaitable);
            },
            boost::asio::detached);
      }
      boost::asio::co_spawn(
          ioc,
          [&]() -> awaitable<void> {
            const std::vector<SessionId> ids{victim->session.id};
            auto removed = co_await sessions.Delete(key, ids, use_awaitable);
            CHECK(removed.ok());
          },
          boost::asio::detached);
      ioc.restart();
      ioc.run();
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
    boost::asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
          for (int i = 0; i < 10; ++i) (void)co_await sessions.Set(key, "new", use_awaitable);
        },
        boost::asio::detached);
    boost::asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
          auto deleted = co_await sessions.Delete(key, use_awaitable);
          CHECK(deleted.ok());
        },
        boost::asio::detached);
    ioc.restart();
    ioc.run();
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
