#pragma once
// Test support: the rules of UpdateMeta, run on any store through either
// driver (Sessions, or AsyncSessions behind BlockingAsync). Call
// RunUpdateMetaFlow from a TEST_CASE; keys are unique per call.

#include "support/cookies.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include <random>
#include <string>
#include <thread>
#include <vector>

namespace jeff::test {

template <typename Api>
void RunUpdateMetaFlow(Api& api) {
  const std::string key = "meta" + std::to_string(std::random_device{}()) + "@example.com";
  const std::size_t max_meta = api.options().max_meta_bytes;
  auto laptop = api.Set(key, "laptop");
  auto phone = api.Set(key, "phone", SetOptions{.max_age = std::chrono::seconds(0)});
  REQUIRE(laptop.ok());
  REQUIRE(phone.ok());
  const std::string laptop_cookie = CookieOf(*laptop);
  const std::string phone_cookie = CookieOf(*phone);

  // By cookie: the session gets the new meta, keeps its token, times and
  // cookie kind; the key's other session is untouched.
  auto renamed = api.UpdateMeta(phone_cookie, "Ann's phone");
  REQUIRE(renamed.ok());
  CHECK(renamed->meta == "Ann's phone");
  CHECK(renamed->id == phone->session.id);
  CHECK(renamed->key == key);
  CHECK(renamed->created == phone->session.created);
  CHECK(renamed->expires == phone->session.expires);
  CHECK_FALSE(renamed->persistent);
  auto checked = api.Check(phone_cookie);
  REQUIRE(checked.ok());
  CHECK(checked.session.meta == "Ann's phone");
  CHECK_FALSE(checked.session.persistent);
  CHECK(api.Check(laptop_cookie).session.meta == "laptop");

  // By key and id, e.g. from the list.
  auto by_id = api.UpdateMeta(key, laptop->session.id, "work laptop");
  REQUIRE(by_id.ok());
  CHECK(by_id->meta == "work laptop");
  CHECK(by_id->id == laptop->session.id);
  CHECK(api.Check(laptop_cookie).session.meta == "work laptop");
  CHECK(api.Check(phone_cookie).session.meta == "Ann's phone");

  // The same meta again is no change, and still the session.
  CHECK(api.UpdateMeta(laptop_cookie, "work laptop")->meta == "work laptop");

  // Size limit as Set's: at the limit it is accepted; above, nothing is written.
  CHECK(api.UpdateMeta(laptop_cookie, std::string(max_meta, 'm')).ok());
  CHECK(api.UpdateMeta(laptop_cookie, std::string(max_meta + 1, 'x')).error() == Errc::kInvalidArgument);
  CHECK(api.UpdateMeta(key, laptop->session.id, std::string(max_meta + 1, 'x')).error() ==
        Errc::kInvalidArgument);
  CHECK(api.Check(laptop_cookie).session.meta == std::string(max_meta, 'm'));

  // No such session: the not-found error, and nothing written.
  SessionId unknown = laptop->session.id;
  unknown[0] ^= 0xff;
  CHECK(api.UpdateMeta(key, unknown, "x").error() == Errc::kSessionNotFound);
  CHECK(api.UpdateMeta("nobody-" + key, laptop->session.id, "x").error() == Errc::kSessionNotFound);
  CHECK(api.UpdateMeta("", "x").error() == Errc::kSessionNotFound);
  CHECK(api.UpdateMeta("jeff_session=garbage", "x").error() == Errc::kSessionNotFound);
  CHECK(api.UpdateMeta("", laptop->session.id, "x").error() == Errc::kInvalidArgument);
  CHECK(api.UpdateMeta(std::string(api.options().max_key_bytes + 1, 'k'), laptop->session.id, "x").error() ==
        Errc::kInvalidArgument);

  // A rotated-away token names no session any more; the new one does.
  auto rotated = api.Rotate(phone_cookie);
  REQUIRE(rotated.ok());
  CHECK(api.UpdateMeta(phone_cookie, "stale").error() == Errc::kSessionNotFound);
  CHECK(api.UpdateMeta(CookieOf(*rotated), "rotated")->meta == "rotated");

  // A logged-out session is gone for UpdateMeta too.
  REQUIRE(api.Clear(laptop_cookie).ok());
  CHECK(api.UpdateMeta(laptop_cookie, "gone").error() == Errc::kSessionNotFound);
  CHECK(api.UpdateMeta(key, laptop->session.id, "gone").error() == Errc::kSessionNotFound);
  auto list = api.SessionsForKey(key);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK(list->front().meta == "rotated");
}

// UpdateMeta goes through the compare-and-swap: racing logins of the same
// key neither lose a session nor undo the update (nor it theirs).
inline void RunUpdateMetaRace(Sessions& sessions, int threads = 4, int sets_per_thread = 50) {
  const std::string key = "meta-race" + std::to_string(std::random_device{}()) + "@example.com";
  auto first = sessions.Set(key, "0");
  REQUIRE(first.ok());
  const std::string cookie = CookieOf(*first);
  std::vector<std::thread> loggers;
  for (int t = 0; t < threads; ++t) {
    loggers.emplace_back([&] {
      for (int i = 0; i < sets_per_thread; ++i) CHECK(sessions.Set(key, "racer").ok());
    });
  }
  int updates = 0;
  for (; updates < threads * sets_per_thread; ++updates) {
    REQUIRE(sessions.UpdateMeta(cookie, std::to_string(updates + 1)).ok());
  }
  for (auto& t : loggers) t.join();
  auto list = sessions.SessionsForKey(key);
  REQUIRE(list.ok());
  CHECK(list->size() == static_cast<std::size_t>(1 + threads * sets_per_thread));
  CHECK(sessions.Check(cookie).session.meta == std::to_string(updates));
}

}  // namespace jeff::test
