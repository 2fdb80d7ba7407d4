#pragma once
// Sessions-level race suite, run against every store: concurrent logins for
// one key lose nothing, and a revoked session never comes back (the two
// races Go jeff documents). Call RunSessionsRaces from a TEST_CASE.

#include "support/cookies.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jeff::test {

struct RaceHarness {
  std::shared_ptr<Store> store;
  int threads = 8;
  int sets_per_thread = 200;
  int revoke_trials = 20;
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
    for (int trial = 0; trial < h.revoke_trials; ++trial) {
      const std::string key = "revoke-" + std::to_string(trial) + "@example.com";
      auto victim = sessions.Set(key, "victim");
      REQUIRE(victim.ok());
      const std::string cookie = CookieOf(*victim);
      std::atomic<bool> go{false};
      std::vector<std::thread> threads;
      for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&] {
          while (!go.load()) std::this_thread::yield();
          for (int i = 0; i < 5; ++i) (void)sessions.Set(key, "racer");
        });
      }
      threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        const SessionId id = victim->session.id;
        CHECK(sessions.Delete(key, std::span<const SessionId>(&id, 1)).ok());
      });
      go.store(true);
      for (auto& t : threads) t.join();
      auto list = sessions.SessionsForKey(key);
      REQUIRE(list.ok());
      CHECK(list->size() == 15);
      for (const Session& s : *list) {
        if (s.id == victim->session.id) ++resurrected;
      }
      CHECK(sessions.Check(cookie).status == CheckStatus::kUnknown);
    }
    CHECK(resurrected == 0);
  }

  SUBCASE("revoking all sessions of a key is final for every session it saw") {
    const std::string key = "delete-all@example.com";
    std::vector<std::string> cookies;
    for (int i = 0; i < 10; ++i) {
      auto issued = sessions.Set(key, "old");
      REQUIRE(issued.ok());
      cookies.push_back(issued->set_cookie.front().substr(0, issued->set_cookie.front().find(';')));
    }
    std::atomic<bool> go{false};
    std::thread login([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 10; ++i) (void)sessions.Set(key, "new");
    });
    std::thread revoke([&] {
      while (!go.load()) std::this_thread::yield();
      CHECK(sessions.Delete(key).ok());
    });
    go.store(true);
    login.join();
    revoke.join();
    for (const std::string& c : cookies) CHECK(sessions.Check(c).status == CheckStatus::kUnknown);
    auto list = sessions.SessionsForKey(key);
    REQUIRE(list.ok());
    for (const Session& s : *list) CHECK(s.meta == "new");
  }
}

}  // namespace jeff::test
