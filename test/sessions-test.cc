#include <doctest/doctest.h>
#include <jeff/detail/record.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/sessions_race.hpp"

#include <atomic>

using namespace std::chrono_literals;
using jeff::CheckStatus;

namespace {

// Fault injection around a real MemoryStore: while `down` is set every call
// fails as an unreachable server would.
class FlakyStore final : public jeff::Store {
 public:
  explicit FlakyStore(std::shared_ptr<jeff::Store> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> down{false};
  std::atomic<bool> fail_writes{false};

  jeff::Result<std::optional<jeff::Versioned>> Fetch(std::string_view key) override {
    if (down) return jeff::Errc::kStoreUnavailable;
    return inner_->Fetch(key);
  }
  jeff::Result<bool> CompareAndSwap(std::string_view key, std::optional<jeff::Version> expected,
                                    std::string_view value, std::chrono::milliseconds ttl) override {
    if (down || fail_writes) return jeff::Errc::kStoreTimeout;
    return inner_->CompareAndSwap(key, expected, value, ttl);
  }
  jeff::Result<void> Erase(std::string_view key) override {
    if (down) return jeff::Errc::kStoreUnavailable;
    return inner_->Erase(key);
  }

 private:
  std::shared_ptr<jeff::Store> inner_;
};

using Fixture = jeff::test::MemoryFixture;

}  // namespace

TEST_CASE("Set issues a cookie that Check accepts") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("alice@example.com", "Firefox");
  REQUIRE(issued.ok());
  REQUIRE(issued->set_cookie.size() == 1);
  const std::string& sc = issued->set_cookie.front();
  CHECK(sc.rfind("jeff_session=", 0) == 0);
  CHECK(sc.find("; HttpOnly") != std::string::npos);
  CHECK(sc.find("; Secure") != std::string::npos);
  CHECK(sc.find("; SameSite=Lax") != std::string::npos);
  CHECK(sc.find("; Path=/") != std::string::npos);
  CHECK(sc.find("Max-Age=2592000") != std::string::npos);
  // The key itself never appears in the cookie.
  CHECK(sc.find("alice") == std::string::npos);

  auto checked = sessions.Check("theme=dark; " + jeff::test::CookieHeaderOf(sc) + "; lang=en");
  REQUIRE(checked.ok());
  CHECK(checked.session.key == "alice@example.com");
  CHECK(checked.session.meta == "Firefox");
  CHECK(checked.session.id == issued->session.id);
  CHECK(checked.session.expires - checked.session.created == 30 * 24h);
  CHECK(checked.set_cookie.empty());
}

TEST_CASE("Check reports why there is no session") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  CHECK(sessions.Check("").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("other=1").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("jeff_session=").status == CheckStatus::kMalformed);
  CHECK(sessions.Check("jeff_session=abc").status == CheckStatus::kMalformed);
  CHECK(sessions.Check("jeff_session=" + std::string(5000, 'A')).status == CheckStatus::kMalformed);
  // Right shape, but no such session.
  const std::string forged = jeff::KeyId("alice") + "." + std::string(43, 'A');
  CHECK(sessions.Check("jeff_session=" + forged).status == CheckStatus::kUnknown);

  auto issued = sessions.Set("alice", "");
  REQUIRE(issued.ok());
  // Same kid, wrong token: the record exists but no hash matches.
  CHECK(sessions.Check("jeff_session=" + forged).status == CheckStatus::kUnknown);
  std::string cookie = jeff::test::CookieHeaderOf(issued->set_cookie.front());
  cookie.back() = cookie.back() == 'A' ? 'Q' : 'A';
  CheckStatus tampered = sessions.Check(cookie).status;
  CHECK((tampered == CheckStatus::kUnknown || tampered == CheckStatus::kMalformed));
}

TEST_CASE("sessions expire at max_age and after idle_timeout") {
  Fixture f;
  f.options.max_age = 1h;
  f.options.idle_timeout = 10min;
  f.options.touch_interval = 1min;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("bob", "");
  REQUIRE(issued.ok());
  const std::string cookie = jeff::test::CookieHeaderOf(issued->set_cookie.front());

  for (int i = 0; i < 11; ++i) {  // active every 5 minutes: the idle clock never runs out
    f.clock.Advance(5min);
    CHECK(sessions.Check(cookie).ok());
  }
  auto later = sessions.Set("bob", "");  // keeps the record alive past the first session
  REQUIRE(later.ok());
  f.clock.Advance(6min);  // 61 minutes: past max_age
  CHECK(sessions.Check(cookie).status == CheckStatus::kExpired);
  // Once the store has dropped the whole record, an ended session is unknown.
  f.clock.Advance(1h);
  CHECK(sessions.Check(cookie).status == CheckStatus::kUnknown);

  auto idle = sessions.Set("bob", "");
  REQUIRE(idle.ok());
  f.clock.Advance(10min);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(idle->set_cookie.front())).status == CheckStatus::kExpired);
}

TEST_CASE("Check records activity at most once per touch_interval") {
  Fixture f;
  f.options.touch_interval = 1min;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("carol", "");
  REQUIRE(issued.ok());
  const std::string cookie = jeff::test::CookieHeaderOf(issued->set_cookie.front());
  const jeff::TimePoint start = f.clock.Now();

  f.clock.Advance(30s);
  CHECK(sessions.Check(cookie).ok());
  CHECK(sessions.SessionsForKey("carol")->front().last_seen == start);  // throttled: no write

  f.clock.Advance(31s);
  auto touched = sessions.Check(cookie);
  REQUIRE(touched.ok());
  CHECK(touched.session.last_seen == start + 61s);
  CHECK(sessions.SessionsForKey("carol")->front().last_seen == start + 61s);
}

TEST_CASE("touch_interval 0 makes Check read-only") {
  Fixture f;
  f.options.touch_interval = 0s;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("dave", "");
  REQUIRE(issued.ok());
  const auto before = f.store->Fetch(jeff::KeyId("dave").insert(0, "jeff:")).value()->version;
  f.clock.Advance(1h);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued->set_cookie.front())).ok());
  CHECK(f.store->Fetch(jeff::KeyId("dave").insert(0, "jeff:")).value()->version == before);
}

TEST_CASE("Clear logs out only the current session and expires the cookie") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  auto phone = sessions.Set("erin", "phone");
  auto laptop = sessions.Set("erin", "laptop");
  REQUIRE(phone.ok());
  REQUIRE(laptop.ok());
  auto cleared = sessions.Clear(jeff::test::CookieHeaderOf(phone->set_cookie.front()));
  REQUIRE(cleared.ok());
  REQUIRE(cleared->size() == 1);
  CHECK(cleared->front().find("jeff_session=;") == 0);
  CHECK(cleared->front().find("Max-Age=0") != std::string::npos);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(phone->set_cookie.front())).status == CheckStatus::kUnknown);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(laptop->set_cookie.front())).ok());
  // Without a session Clear still answers with the expiring cookie.
  auto nothing = sessions.Clear("");
  REQUIRE(nothing.ok());
  CHECK(nothing->size() == 1);
}

TEST_CASE("Delete revokes all or chosen sessions; SessionsForKey lists live ones") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  std::vector<jeff::Issued> issued;
  for (int i = 0; i < 4; ++i) {
    f.clock.Advance(1s);
    issued.push_back(sessions.Set("frank", "device " + std::to_string(i)).value());
  }
  auto list = sessions.SessionsForKey("frank");
  REQUIRE(list.ok());
  REQUIRE(list->size() == 4);
  for (int i = 0; i < 4; ++i) CHECK((*list)[i].meta == "device " + std::to_string(i));

  const jeff::SessionId chosen[] = {issued[1].session.id, issued[2].session.id, jeff::NewSessionId()};
  auto removed = sessions.Delete("frank", chosen);
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  CHECK(sessions.SessionsForKey("frank")->size() == 2);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued[1].set_cookie.front())).status == CheckStatus::kUnknown);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued[0].set_cookie.front())).ok());

  auto all = sessions.Delete("frank");
  REQUIRE(all.ok());
  CHECK(*all == 2);
  CHECK(sessions.SessionsForKey("frank")->empty());
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued[0].set_cookie.front())).status == CheckStatus::kUnknown);
  CHECK(sessions.Delete("nobody").value() == 0);
  CHECK(sessions.SessionsForKey("nobody")->empty());
  CHECK(sessions.Delete("").error() == jeff::Errc::kInvalidArgument);
}

TEST_CASE("max_sessions_per_key evicts the oldest sessions") {
  Fixture f;
  f.options.max_sessions_per_key = 3;
  jeff::Sessions sessions(f.options);
  std::vector<jeff::Issued> issued;
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(1s);
    issued.push_back(sessions.Set("gina", std::to_string(i)).value());
  }
  auto list = sessions.SessionsForKey("gina").value();
  REQUIRE(list.size() == 3);
  CHECK(list[0].meta == "2");
  CHECK(list[2].meta == "4");
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued[0].set_cookie.front())).status == CheckStatus::kUnknown);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued[4].set_cookie.front())).ok());
}

TEST_CASE("expired sessions are pruned on every write and the record TTL follows them") {
  Fixture f;
  f.options.max_age = 1h;
  jeff::Sessions sessions(f.options);
  REQUIRE(sessions.Set("hank", "old").ok());
  f.clock.Advance(2h);
  REQUIRE(sessions.Set("hank", "new").ok());
  const std::string store_key = "jeff:" + jeff::KeyId("hank");
  auto record = jeff::DecodeRecord(f.store->Fetch(store_key).value()->value);
  REQUIRE(record.ok());
  REQUIRE(record->sessions.size() == 1);
  CHECK(record->sessions[0].meta == "new");
  CHECK(record->key == "hank");
  f.clock.Advance(61min);  // the record itself is gone with its last session
  CHECK_FALSE(f.store->Fetch(store_key).value().has_value());
}

TEST_CASE("Rotate replaces the token and keeps the session") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("ivy", "meta");
  REQUIRE(issued.ok());
  const std::string old_cookie = jeff::test::CookieHeaderOf(issued->set_cookie.front());
  auto current = sessions.Check(old_cookie);
  REQUIRE(current.ok());
  auto rotated = sessions.Rotate(old_cookie);
  REQUIRE(rotated.ok());
  CHECK(rotated->session.id == issued->session.id);
  CHECK(sessions.Check(old_cookie).status == CheckStatus::kUnknown);
  auto again = sessions.Check(jeff::test::CookieHeaderOf(rotated->set_cookie.front()));
  REQUIRE(again.ok());
  CHECK(again.session.id == issued->session.id);
  CHECK(again.session.meta == "meta");

  REQUIRE(sessions.Delete("ivy").ok());
  CHECK(sessions.Rotate(jeff::test::CookieHeaderOf(rotated->set_cookie.front())).error() ==
        jeff::Errc::kSessionNotFound);
  CHECK(sessions.Rotate("").error() == jeff::Errc::kSessionNotFound);
  CHECK(sessions.Rotate("jeff_session=garbage").error() == jeff::Errc::kSessionNotFound);
}

// Review defect 6: Rotate matched the session by id, so a second Rotate with
// the same (already rotated) cookie succeeded and killed the first one's.
TEST_CASE("Rotate needs the current token: of two Rotates with one cookie, one wins") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  const std::string cookie = jeff::test::CookieOf(sessions.Set("ivy", "").value());
  auto first = sessions.Rotate(cookie);
  REQUIRE(first.ok());
  CHECK(sessions.Rotate(cookie).error() == jeff::Errc::kSessionNotFound);
  const std::string rotated = jeff::test::CookieOf(*first);
  CHECK(sessions.Check(rotated).ok());
  // The pre-rotation cookie is dead for Clear too; the rotated one logs out.
  REQUIRE(sessions.Clear(cookie).ok());
  CHECK(sessions.Check(rotated).ok());
  REQUIRE(sessions.Clear(rotated).ok());
  CHECK(sessions.Check(rotated).status == CheckStatus::kUnknown);
}

// Review defect 7: Clear with a cookie matching no session rewrote the record
// of whatever key the cookie's kid named (racing that user's logins).
TEST_CASE("a cookie that matches no session causes no store write") {
  Fixture f;
  f.options.max_age = 1h;
  jeff::Sessions sessions(f.options);
  const std::string cookie = jeff::test::CookieOf(sessions.Set("victim", "").value());
  const std::string store_key = "jeff:" + jeff::KeyId("victim");
  f.clock.Advance(30min);
  REQUIRE(sessions.Set("victim", "").ok());
  f.clock.Advance(31min);  // the first session has expired: a write would prune it
  const jeff::Version before = f.store->Fetch(store_key).value()->version;
  const std::string forged = "jeff_session=" + jeff::KeyId("victim") + "." + std::string(43, 'A');
  REQUIRE(sessions.Clear(forged).ok());
  CHECK(sessions.Rotate(forged).error() == jeff::Errc::kSessionNotFound);
  REQUIRE(sessions.Clear(cookie).ok());  // an expired session: nothing to remove either
  const jeff::SessionId unknown[] = {jeff::NewSessionId()};
  CHECK(sessions.Delete("victim", unknown).value() == 0);
  CHECK(f.store->Fetch(store_key).value()->version == before);
}

// Review defect 3: eviction sorted by created_ms, so a server whose clock is
// behind another's evicted the session it had just created and still
// returned its cookie.
TEST_CASE("max_sessions_per_key never evicts the new session, whatever the clocks") {
  Fixture ahead;
  jeff::ManualClock behind_clock(ahead.clock.Now() - 1h);
  jeff::Options behind = ahead.options;
  behind.clock = behind_clock.AsClock();
  for (std::size_t max : {1, 2}) {
    CAPTURE(max);
    ahead.options.max_sessions_per_key = behind.max_sessions_per_key = max;
    jeff::Sessions a(ahead.options);
    jeff::Sessions b(behind);
    const std::string key = "skew" + std::to_string(max);
    std::vector<std::string> cookies;
    for (int i = 0; i < 3; ++i) cookies.push_back(jeff::test::CookieOf(a.Set(key, "ahead").value()));
    auto issued = b.Set(key, "behind");
    REQUIRE(issued.ok());
    CHECK(b.Check(jeff::test::CookieOf(*issued)).ok());
    auto list = b.SessionsForKey(key).value();
    REQUIRE(list.size() == max);
    CHECK(list.back().meta == "behind");
    // The oldest in write order went, not the one with the latest clock.
    CHECK(b.Check(cookies[0]).status == CheckStatus::kUnknown);
    if (max == 2) CHECK(b.Check(cookies[2]).ok());
  }
}

// Review defects 4 and 5: times outside what a TimePoint holds.
TEST_CASE("absurd stored times are corrupt, and lifetimes are bounded at 400 days") {
  Fixture f;
  f.options.idle_timeout = 1h;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("lou", "");
  REQUIRE(issued.ok());
  const std::string store_key = "jeff:" + jeff::KeyId("lou");
  const jeff::Record good = jeff::DecodeRecord(f.store->Fetch(store_key).value()->value).value();
  for (std::int64_t absurd : {INT64_MIN, std::int64_t{-1}, jeff::kMaxUnixMillis + 1, INT64_MAX}) {
    for (int field = 0; field < 3; ++field) {
      CAPTURE(absurd);
      CAPTURE(field);
      jeff::Record bad = good;
      std::int64_t* times[] = {&bad.sessions[0].created_ms, &bad.sessions[0].expires_ms,
                               &bad.sessions[0].last_seen_ms};
      *times[field] = absurd;
      auto current = f.store->Fetch(store_key).value();
      REQUIRE(f.store->CompareAndSwap(store_key, current->version, jeff::EncodeRecord(bad), 1h).value());
      auto checked = sessions.Check(jeff::test::CookieOf(*issued));
      CHECK(checked.status == CheckStatus::kStoreError);
      CHECK(checked.error == jeff::Errc::kStoreCorrupt);
    }
  }
  auto bad = [&](auto edit) {
    jeff::Options o = f.options;
    edit(o);
    CHECK_THROWS_AS(jeff::Sessions(std::move(o)), std::invalid_argument);
  };
  bad([](jeff::Options& o) { o.max_age = std::chrono::hours(24 * 365 * 300); });
  bad([](jeff::Options& o) { o.max_age = jeff::kMaxCookieLifetime + 1s; });
  bad([](jeff::Options& o) { o.max_age = 0s; o.session_cookie_lifetime = jeff::kMaxCookieLifetime + 1s; });
  bad([](jeff::Options& o) { o.idle_timeout = jeff::kMaxCookieLifetime + 1s; });
  jeff::Options longest = f.options;
  longest.max_age = jeff::kMaxCookieLifetime;
  jeff::Sessions lasting(longest);
  auto issued_long = lasting.Set("lou's twin", "");
  REQUIRE(issued_long.ok());
  CHECK(issued_long->session.expires == f.clock.Now() + jeff::kMaxCookieLifetime);
  auto rotated = lasting.Rotate(jeff::test::CookieOf(*issued_long));
  REQUIRE(rotated.ok());
  CHECK(rotated->set_cookie.front().find("; Max-Age=34560000;") != std::string::npos);
}

TEST_CASE("a stale duplicate cookie does not hide the live one") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("jack", "");
  REQUIRE(issued.ok());
  const std::string stale = "jeff_session=" + jeff::KeyId("jack") + "." + std::string(43, 'A');
  auto checked = sessions.Check(stale + "; " + jeff::test::CookieHeaderOf(issued->set_cookie.front()));
  CHECK(checked.ok());
}

TEST_CASE("a corrupt record is a store error, never a session") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("kim", "");
  REQUIRE(issued.ok());
  const std::string store_key = "jeff:" + jeff::KeyId("kim");
  auto current = f.store->Fetch(store_key).value();
  std::string garbage = current->value;
  garbage.resize(garbage.size() - 3);
  REQUIRE(f.store->CompareAndSwap(store_key, current->version, garbage, 1h).value());
  auto checked = sessions.Check(jeff::test::CookieHeaderOf(issued->set_cookie.front()));
  CHECK(checked.status == CheckStatus::kStoreError);
  CHECK(checked.error == jeff::Errc::kStoreCorrupt);
  CHECK(sessions.Set("kim", "").error() == jeff::Errc::kStoreCorrupt);
  CHECK(sessions.SessionsForKey("kim").error() == jeff::Errc::kStoreCorrupt);
}

TEST_CASE("a store failure is reported, never as in or out, and Set gives no cookie") {
  Fixture f;
  auto flaky = std::make_shared<FlakyStore>(f.store);
  f.options.store = flaky;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("lee", "");
  REQUIRE(issued.ok());
  const std::string cookie = jeff::test::CookieHeaderOf(issued->set_cookie.front());

  flaky->fail_writes = true;
  auto failed = sessions.Set("lee", "");
  CHECK_FALSE(failed.ok());
  CHECK(jeff::IsStoreError(failed.error()));
  flaky->fail_writes = false;

  flaky->down = true;
  auto checked = sessions.Check(cookie);
  CHECK(checked.status == CheckStatus::kStoreError);
  CHECK(checked.error == jeff::Errc::kStoreUnavailable);
  CHECK_FALSE(sessions.Clear(cookie).ok());
  CHECK_FALSE(sessions.Delete("lee").ok());
  CHECK_FALSE(sessions.SessionsForKey("lee").ok());
  flaky->down = false;
  CHECK(sessions.Check(cookie).ok());
  CHECK(sessions.SessionsForKey("lee")->size() == 1);
}

TEST_CASE("a failed touch does not fail the check") {
  Fixture f;
  auto flaky = std::make_shared<FlakyStore>(f.store);
  f.options.store = flaky;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("max", "");
  REQUIRE(issued.ok());
  flaky->fail_writes = true;
  f.clock.Advance(2min);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued->set_cookie.front())).ok());
}

TEST_CASE("options are validated at construction") {
  Fixture f;
  auto bad = [&](auto edit) {
    jeff::Options o = f.options;
    edit(o);
    CHECK_THROWS_AS(jeff::Sessions(std::move(o)), std::invalid_argument);
  };
  bad([](jeff::Options& o) { o.store = nullptr; });
  bad([](jeff::Options& o) { o.cookie.secure = false; });
  bad([](jeff::Options& o) { o.cookie.name = "bad name"; });
  bad([](jeff::Options& o) { o.cookie.name = "__Host-s"; o.cookie.domain = "example.com"; });
  bad([](jeff::Options& o) { o.insecure = true; o.cookie.same_site = jeff::SameSite::kNone; });
  bad([](jeff::Options& o) { o.idle_timeout = 1min; o.touch_interval = 2min; });
  bad([](jeff::Options& o) { o.max_age = -1s; });
  bad([](jeff::Options& o) { o.key_prefix = "has space"; });
  bad([](jeff::Options& o) { o.key_prefix = ""; });
  bad([](jeff::Options& o) { o.cas_attempts = 0; });
  jeff::Options host = f.options;
  host.cookie.name = "__Host-session";
  CHECK_NOTHROW(jeff::Sessions(std::move(host)));
}

TEST_CASE("insecure mode drops Secure and warns once") {
  Fixture f;
  std::vector<std::string> lines;
  f.options.insecure = true;
  f.options.logger = [&](std::string_view l) { lines.emplace_back(l); };
  jeff::Sessions sessions(f.options);
  CHECK(lines.size() == 1);
  auto issued = sessions.Set("nia", "");
  REQUIRE(issued.ok());
  CHECK(issued->set_cookie.front().find("Secure") == std::string::npos);
  (void)sessions.Set("nia", "");
  CHECK(lines.size() == 1);
}

TEST_CASE("max_age 0 gives a browser-session cookie, still bounded server-side") {
  Fixture f;
  f.options.max_age = 0s;
  f.options.session_cookie_lifetime = 2h;
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("olga", "");
  REQUIRE(issued.ok());
  CHECK(issued->set_cookie.front().find("Max-Age") == std::string::npos);
  CHECK(issued->set_cookie.front().find("Expires") == std::string::npos);
  f.clock.Advance(2h);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued->set_cookie.front())).status == CheckStatus::kUnknown);
}

TEST_CASE("SetOptions::max_age gives one login its own lifetime (remember me)") {
  Fixture f;
  f.options.max_age = 24h * 30;
  f.options.session_cookie_lifetime = 12h;
  jeff::Sessions sessions(f.options);
  const auto cookie_of = [](const jeff::Issued& issued) {
    return jeff::test::CookieHeaderOf(issued.set_cookie.front());
  };

  // "Remember me": Options::max_age, as without SetOptions.
  auto remembered = sessions.Set("pia", "laptop", jeff::SetOptions{});
  REQUIRE(remembered.ok());
  CHECK(remembered->set_cookie.front().find("Max-Age=2592000") != std::string::npos);
  CHECK(remembered->session.expires - remembered->session.created == 24h * 30);
  // Not ticked: a browser-session cookie, ended by the server after session_cookie_lifetime.
  auto once = sessions.Set("pia", "kiosk", {.max_age = 0s});
  REQUIRE(once.ok());
  CHECK(once->set_cookie.front().find("Max-Age") == std::string::npos);
  CHECK(once->set_cookie.front().find("Expires") == std::string::npos);
  CHECK(once->session.expires - once->session.created == 12h);
  // A lifetime of its own.
  auto hour = sessions.Set("pia", "phone", {.max_age = 1h});
  REQUIRE(hour.ok());
  CHECK(hour->set_cookie.front().find("Max-Age=3600") != std::string::npos);
  CHECK(hour->session.expires - hour->session.created == 1h);

  f.clock.Advance(1h);
  CHECK(sessions.Check(cookie_of(*hour)).status == CheckStatus::kExpired);
  CHECK(sessions.Check(cookie_of(*once)).ok());
  CHECK(sessions.Check(cookie_of(*remembered)).ok());
  f.clock.Advance(11h);
  CHECK(sessions.Check(cookie_of(*once)).status == CheckStatus::kExpired);
  auto live = sessions.SessionsForKey("pia");
  REQUIRE(live.ok());
  REQUIRE(live->size() == 1);
  CHECK(live->front().meta == "laptop");
  // The record lives as long as its longest session.
  f.clock.Advance(24h * 29);
  CHECK(sessions.Check(cookie_of(*remembered)).ok());

  // Bounds: 0 ... kMaxCookieLifetime, like Options::max_age.
  CHECK(sessions.Set("pia", "", {.max_age = -1s}).error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set("pia", "", {.max_age = jeff::kMaxCookieLifetime + 1s}).error() ==
        jeff::Errc::kInvalidArgument);
  auto longest = sessions.Set("pia", "", {.max_age = jeff::kMaxCookieLifetime});
  REQUIRE(longest.ok());
  CHECK(longest->session.expires - longest->session.created == jeff::kMaxCookieLifetime);
  // Longer than Options::max_age is allowed: a short default, a long "remember me".
  f.options.max_age = 0s;
  jeff::Sessions short_default(f.options);
  auto week = short_default.Set("quinn", "", {.max_age = 24h * 7});
  REQUIRE(week.ok());
  CHECK(week->set_cookie.front().find("Max-Age=604800") != std::string::npos);
  CHECK(short_default.Set("quinn", "").value().set_cookie.front().find("Max-Age") == std::string::npos);
}

TEST_CASE("stateless: SetOptions::max_age other than Options::max_age is unsupported") {
  jeff::ManualClock clock;
  jeff::Options options;
  options.clock = clock.AsClock();
  options.stateless.secrets = {std::string(32, 's')};
  jeff::Sessions sessions(options);
  CHECK(sessions.Set("rae", "", {.max_age = 0s}).error() == jeff::Errc::kUnsupported);
  CHECK(sessions.Set("rae", "", {.max_age = 1h}).error() == jeff::Errc::kUnsupported);
  CHECK(sessions.Set("rae", "", {.max_age = options.max_age}).ok());
  CHECK(sessions.Set("rae", "", jeff::SetOptions{}).ok());
  // Out of range is bad input, whatever the strategy.
  CHECK(sessions.Set("rae", "", {.max_age = -1s}).error() == jeff::Errc::kInvalidArgument);
}

TEST_CASE("a pepper changes the key id") {
  Fixture f;
  f.options.pepper = "server secret";
  jeff::Sessions sessions(f.options);
  auto issued = sessions.Set("pat", "");
  REQUIRE(issued.ok());
  CHECK(issued->set_cookie.front().find(jeff::KeyId("pat")) == std::string::npos);
  CHECK(issued->set_cookie.front().find(jeff::KeyId("pat", "server secret")) != std::string::npos);
  CHECK(sessions.Check(jeff::test::CookieHeaderOf(issued->set_cookie.front())).ok());
}

TEST_CASE("Set refuses empty keys and oversized meta") {
  Fixture f;
  jeff::Sessions sessions(f.options);
  CHECK(sessions.Set("", "").error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set("k", std::string(4097, 'm')).error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set(std::string(1025, 'k'), "").error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set(std::string("bin\0key", 7), std::string("\0\xff", 2)).ok());
}

// Options::max_key_bytes bounds every call that takes a key, not only Set:
// a longer key is refused before any store access.
TEST_CASE("Delete and SessionsForKey refuse keys over max_key_bytes, without a store call") {
  Fixture f;
  f.options.max_key_bytes = 16;
  f.options.metrics = true;
  jeff::Sessions sessions(f.options);
  const std::string longest(16, 'k');
  const std::string too_long(17, 'k');
  REQUIRE(sessions.Set(longest).ok());
  const auto store_calls = [&] {
    std::uint64_t n = 0;
    for (const jeff::LatencyHistogram& h : sessions.metrics().store_calls) n += h.calls;
    return n;
  };
  const std::uint64_t before = store_calls();
  const jeff::SessionId ids[] = {jeff::NewSessionId()};
  CHECK(sessions.Delete(too_long).error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Delete(too_long, ids).error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.SessionsForKey(too_long).error() == jeff::Errc::kInvalidArgument);
  CHECK(store_calls() == before);
  CHECK(sessions.SessionsForKey(longest)->size() == 1);
  CHECK(sessions.Delete(longest, ids).value() == 0);
  CHECK(sessions.Delete(longest).value() == 1);
}

TEST_CASE("memory store: Sessions races lose nothing and resurrect nothing") {
  jeff::test::RaceHarness h;
  h.store = std::make_shared<jeff::MemoryStore>();
  jeff::test::RunSessionsRaces(h);
}
