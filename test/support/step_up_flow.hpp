#pragma once
// Test support: the rules of step-up authentication (Session::
// authenticated_at, Reauthenticated), run on any store through either driver
// (Sessions, or AsyncSessions behind BlockingAsync). The api's Options::clock
// must be `clock`; `inspect` reads the api's store synchronously (the record
// format). Keys are unique per call.

#include "support/cookies.hpp"
#include "support/record_ext.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include <chrono>
#include <random>
#include <string>

namespace jeff::test {

template <typename Api>
void RunStepUpFlow(Api& api, ManualClock& clock, Store& inspect) {
  using namespace std::chrono_literals;
  const std::string key = "step-up" + std::to_string(std::random_device{}()) + "@example.com";
  const std::string store_key = StoreKeyOf(api.options(), key);
  auto issued = api.Set(key, "laptop");
  REQUIRE(issued.ok());
  // Set: the login is the authentication; nothing extra is stored (v1).
  CHECK(issued->session.authenticated_at == issued->session.created);
  CHECK(StoredFormat(inspect, store_key) == 1);
  std::string cookie = CookieOf(*issued);
  CHECK(api.Check(cookie).session.authenticated_at == issued->session.created);

  // Reauthenticated: now, and a new token (the old cookie dies).
  clock.Advance(20min);
  const TimePoint prompted = clock.Now();
  auto again = api.Reauthenticated(cookie);
  REQUIRE(again.ok());
  CHECK(again->session.authenticated_at == prompted);
  CHECK(again->session.created == issued->session.created);
  CHECK(again->session.id == issued->session.id);
  CHECK(api.Check(cookie).status == CheckStatus::kUnknown);
  CHECK(api.Reauthenticated(cookie).error() == Errc::kSessionNotFound);
  cookie = CookieOf(*again);
  CHECK(api.Check(cookie).session.authenticated_at == prompted);
  CHECK(StoredOf(inspect, store_key, issued->session.id).authenticated_at_ms == ToUnixMillis(prompted));
  CHECK(StoredFormat(inspect, store_key) == 2);

  // Kept by Check's touch, UpdateMeta and Rotate.
  clock.Advance(api.options().touch_interval + 1s);
  auto touched = api.Check(cookie);
  REQUIRE(touched.ok());
  CHECK(touched.session.last_seen == clock.Now());
  CHECK(touched.session.authenticated_at == prompted);
  CHECK(api.UpdateMeta(cookie, "renamed")->authenticated_at == prompted);
  auto rotated = api.Rotate(cookie);
  REQUIRE(rotated.ok());
  CHECK(rotated->session.authenticated_at == prompted);
  cookie = CookieOf(*rotated);
  CHECK(api.Check(cookie).session.authenticated_at == prompted);
  auto listed = api.SessionsForKey(key);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().authenticated_at == prompted);

  // Only the session itself: another session of the key keeps its own.
  auto other = api.Set(key, "phone");
  REQUIRE(other.ok());
  CHECK(api.Check(CookieOf(*other)).session.authenticated_at == other->session.created);

  // No live session: not found, nothing written.
  CHECK(api.Reauthenticated("").error() == Errc::kSessionNotFound);
  CHECK(api.Reauthenticated("jeff_session=garbage").error() == Errc::kSessionNotFound);
  REQUIRE(api.Clear(cookie).ok());
  CHECK(api.Reauthenticated(cookie).error() == Errc::kSessionNotFound);
}

}  // namespace jeff::test
