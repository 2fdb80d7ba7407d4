// AsyncSessions on the memory store (which completes inline): the same
// outcomes as Sessions, each completion posted to the token's executor, and
// every Asio completion style (callback, coroutine, future) works.
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/async_sessions_race.hpp"
#include "support/cookies.hpp"
#include "support/record_ext.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <thread>
#include <utility>

using namespace std::chrono_literals;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using jeff::CheckStatus;

namespace {

struct Fixture {
  jeff::ManualClock clock;
  std::shared_ptr<jeff::MemoryStore> store;
  jeff::Options options;  // for both managers; the sync one gets options.store
  boost::asio::io_context ioc;

  Fixture() {
    jeff::MemoryStoreOptions mo;
    mo.clock = clock.AsClock();
    store = std::make_shared<jeff::MemoryStore>(mo);
    options.clock = clock.AsClock();
    options.touch_interval = 60s;
  }
  jeff::AsyncSessions Async() { return jeff::AsyncSessions(options, store, ioc.get_executor()); }
  jeff::Sessions Sync() {
    jeff::Options o = options;
    o.store = store;
    return jeff::Sessions(o);
  }
};

}  // namespace

TEST_CASE("a completion is posted to the executor, never run inside the call") {
  Fixture f;
  jeff::AsyncSessions sessions(f.options, f.store, f.ioc.get_executor());
  bool completed = false;
  sessions.Set("alice", "laptop", [&](jeff::Result<jeff::Issued> issued) {
    CHECK(issued.ok());
    completed = true;
  });
  CHECK_FALSE(completed);  // the memory store answered inline; the completion waits for the loop
  f.ioc.run();
  CHECK(completed);
}

namespace {

// The memory store answering later on `loop`, as a networked store does:
// each completion is posted to `loop` instead of being called inline.
class AnswersOnLoop final : public jeff::AsyncStore {
 public:
  AnswersOnLoop(std::shared_ptr<jeff::AsyncStore> inner, boost::asio::any_io_executor loop)
      : inner_(std::move(inner)), loop_(std::move(loop)) {}
  void AsyncFetch(std::string_view key, FetchHandler done) override {
    inner_->AsyncFetch(key, Later(std::move(done)));
  }
  void AsyncCompareAndSwap(std::string_view key, std::optional<jeff::Version> expected,
                           std::string_view value, std::chrono::milliseconds ttl,
                           SwapHandler done) override {
    inner_->AsyncCompareAndSwap(key, expected, value, ttl, Later(std::move(done)));
  }
  void AsyncErase(std::string_view key, EraseHandler done) override {
    inner_->AsyncErase(key, Later(std::move(done)));
  }

 private:
  template <typename R>
  std::function<void(R)> Later(std::function<void(R)> done) {
    return [loop = loop_, done = std::move(done)](R result) {
      boost::asio::post(loop, [done, result = std::move(result)]() mutable { done(std::move(result)); });
    };
  }

  std::shared_ptr<jeff::AsyncStore> inner_;
  boost::asio::any_io_executor loop_;
};

}  // namespace

TEST_CASE("a call's completion owns a move-only callable: called with the value, or destroyed uncalled") {
  // Counts the live copies of what the callable owns.
  struct Owned {
    explicit Owned(int& live) : live(&live) { ++live; }
    Owned(Owned&& other) noexcept : live(std::exchange(other.live, nullptr)) {}
    Owned(const Owned&) = delete;
    ~Owned() {
      if (live != nullptr) --*live;
    }
    int* live;
  };
  int live = 0, got = 0;
  {
    jeff::async_detail::Completion<int> done(
        [owned = Owned(live), &got](int value) mutable { got = value; });
    CHECK(live == 1);
    jeff::async_detail::Completion<int> moved = std::move(done);  // no copy is made
    CHECK(live == 1);
    moved(42);
    CHECK(got == 42);
  }
  CHECK(live == 0);
  {
    jeff::async_detail::Completion<int> dropped([owned = Owned(live)](int) {});
    CHECK(live == 1);
  }
  CHECK(live == 0);  // a call dropped uncalled frees its handler
}

TEST_CASE("the handler's executor keeps outstanding work until the completion ran") {
  // The store and the manager on one loop, the handler bound to another: a
  // loop run only for the handler must not run out of work while the call
  // is pending (as with Asio's own operations), and must run out of it once
  // the handler ran.
  Fixture f;
  boost::asio::io_context handlers;
  jeff::AsyncSessions sessions(f.options, std::make_shared<AnswersOnLoop>(f.store, f.ioc.get_executor()),
                               f.ioc.get_executor());
  bool completed = false;
  sessions.Set("dora", "", boost::asio::bind_executor(handlers, [&](jeff::Result<jeff::Issued> issued) {
                 CHECK(issued.ok());
                 completed = true;
               }));
  handlers.poll();
  CHECK_FALSE(handlers.stopped());  // the call is pending: work remains
  CHECK_FALSE(completed);
  f.ioc.run();  // the store answers; the manager posts the completion to `handlers`
  CHECK_FALSE(completed);
  handlers.run();  // returns once the handler ran and its hold ended
  CHECK(completed);
  CHECK(handlers.stopped());
}

TEST_CASE("destroying the manager completes its calls in flight with operation_canceled") {
  // The memory store answering on the loop: every call below is still
  // waiting for the store when the manager goes. Their handlers get
  // operation_canceled once (under ASan, before: a use-after-free of the
  // manager when the store answered), and the late answers change nothing.
  Fixture f;
  auto store = std::make_shared<AnswersOnLoop>(f.store, f.ioc.get_executor());
  const std::string cookie = jeff::test::CookieOf(*f.Sync().Set("erin", "laptop"));
  std::vector<std::error_code> outcomes;
  jeff::CheckResult checked;
  {
    jeff::AsyncSessions sessions(f.options, store, f.ioc.get_executor());
    sessions.Check(cookie, [&](jeff::CheckResult r) { checked = std::move(r); });
    const auto outcome = [&](auto result) { outcomes.push_back(result.error()); };
    sessions.Set("erin", "phone", outcome);
    sessions.SessionsForKey("erin", outcome);
    sessions.Rotate(cookie, outcome);
    sessions.Clear(cookie, outcome);
    sessions.Delete("erin", outcome);
    CHECK(outcomes.empty());
  }
  f.ioc.run();
  CHECK(checked.status == CheckStatus::kStoreError);
  CHECK(checked.error == std::errc::operation_canceled);
  REQUIRE(outcomes.size() == 5);
  for (const std::error_code& e : outcomes) CHECK(e == std::errc::operation_canceled);
  // Only reads had reached the store: the session is as it was.
  auto listed = f.Sync().SessionsForKey("erin");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().meta == "laptop");
  CHECK(f.Sync().Check(cookie).ok());
}

TEST_CASE("recycled blocks and string buffers go to one holder at a time") {
  namespace ad = jeff::async_detail;
  void* a = ad::AllocateBlock(1800);
  void* b = ad::AllocateBlock(1800);
  CHECK(a != b);  // both live: never the same block
  ad::FreeBlock(a, 1800);
  ad::FreeBlock(b, 1800);
  void* c = ad::AllocateBlock(1850);  // the same size class: a freed block comes back
  void* d = ad::AllocateBlock(1850);
  CHECK(c != d);
  CHECK(((c == a && d == b) || (c == b && d == a)));
  ad::FreeBlock(c, 1850);
  ad::FreeBlock(d, 1850);

  std::string s = ad::RecycledString(std::string(100, 's'));
  std::string t = ad::RecycledString(std::string(100, 't'));
  CHECK(s.data() != t.data());
  const char* kept = s.data();
  ad::RecycleString(s);
  CHECK(s.empty());
  std::string u = ad::RecycledString("a text of its own, longer than fifteen bytes");
  CHECK(u.data() == kept);  // the buffer given back, now holding the new text only
  CHECK(u == "a text of its own, longer than fifteen bytes");
  CHECK(t == std::string(100, 't'));
}

TEST_CASE("Checks in flight each keep their own state, through rounds that reuse it") {
  // All Checks of a round wait for the store at once (it answers on the
  // loop); the next rounds run on blocks and buffers the earlier ones gave
  // back. Every completion must still see its own cookie's session.
  Fixture f;
  jeff::Sessions sync = f.Sync();
  std::vector<std::string> keys, cookies;
  for (int i = 0; i < 40; ++i) {
    keys.push_back("user-" + std::to_string(i) + "@example.com");
    cookies.push_back(jeff::test::CookieOf(*sync.Set(keys.back(), "meta of " + keys.back())));
  }
  jeff::AsyncSessions later(f.options, std::make_shared<AnswersOnLoop>(f.store, f.ioc.get_executor()),
                            f.ioc.get_executor());
  jeff::AsyncSessions inline_store(f.options, f.store, f.ioc.get_executor());
  for (int round = 0; round < 3; ++round) {
    int right = 0;
    for (std::size_t i = 0; i < cookies.size(); ++i) {
      jeff::AsyncSessions& sessions = i % 2 == 0 ? later : inline_store;
      sessions.Check(cookies[i], [&, i](jeff::CheckResult checked) {
        if (checked.ok() && checked.session.key == keys[i] && checked.session.meta == "meta of " + keys[i]) {
          ++right;
        }
      });
    }
    f.ioc.run();
    f.ioc.restart();
    CHECK(right == static_cast<int>(cookies.size()));
  }
}

namespace {

// A MemoryStore behind a store that loses every compare-and-swap to a real
// competing write (the same bytes written again just before, so the
// version moves on), and says it never blocks: AsyncSessions then calls it
// directly. Counts the Async calls, which it should then never get.
class LosesEveryRace final : public jeff::Store, public jeff::AsyncStore {
 public:
  jeff::Result<std::optional<jeff::Versioned>> Fetch(std::string_view key) override { return inner_.Fetch(key); }
  jeff::Result<bool> CompareAndSwap(std::string_view key, std::optional<jeff::Version> expected,
                                    std::string_view value, std::chrono::milliseconds ttl) override {
    auto current = inner_.Fetch(key);
    if (current.ok() && current->has_value()) {
      (void)inner_.CompareAndSwap(key, (*current)->version, (*current)->value, ttl);
    } else {
      (void)inner_.CompareAndSwap(key, std::nullopt, value, ttl);
    }
    return inner_.CompareAndSwap(key, expected, value, ttl);
  }
  jeff::Result<void> Erase(std::string_view key) override { return inner_.Erase(key); }
  void AsyncFetch(std::string_view key, FetchHandler done) override {
    ++async_calls;
    done(Fetch(key));
  }
  void AsyncCompareAndSwap(std::string_view key, std::optional<jeff::Version> expected, std::string_view value,
                           std::chrono::milliseconds ttl, SwapHandler done) override {
    ++async_calls;
    done(CompareAndSwap(key, expected, value, ttl));
  }
  void AsyncErase(std::string_view key, EraseHandler done) override {
    ++async_calls;
    done(Erase(key));
  }
  jeff::Store* NonBlockingStore() noexcept override { return this; }

  int async_calls = 0;

 private:
  jeff::MemoryStore inner_;
};

}  // namespace

TEST_CASE("a non-blocking store is called directly; a call waiting on its back-off is canceled with the manager") {
  Fixture f;
  auto store = std::make_shared<LosesEveryRace>();
  f.options.cas_backoff = 10s;  // the second attempt waits on the timer until the manager goes
  std::optional<jeff::Result<jeff::Issued>> issued;
  {
    jeff::AsyncSessions sessions(f.options, store, f.ioc.get_executor());
    sessions.Set("frank", "laptop", [&](jeff::Result<jeff::Issued> r) { issued = std::move(r); });
    f.ioc.poll();  // the first swap lost; the call waits (nothing is due for 10 s)
    CHECK_FALSE(issued.has_value());
  }
  f.ioc.run();  // the canceled timer and the posted completion run; nothing waits 10 s
  REQUIRE(issued.has_value());
  CHECK(issued->error() == std::errc::operation_canceled);
  CHECK(store->async_calls == 0);  // fetch and swap went to NonBlockingStore()
}

TEST_CASE("async and sync managers share one store and agree") {
  Fixture f;
  jeff::AsyncSessions async_sessions(f.options, f.store, f.ioc.get_executor());
  jeff::Sessions sync = f.Sync();
  jeff::test::RunCoroutine(f.ioc, [&]() -> awaitable<void> {
    auto issued = co_await async_sessions.Set("alice", "laptop", use_awaitable);
    REQUIRE(issued.ok());
    const std::string cookie = jeff::test::CookieOf(*issued);

    auto checked = co_await async_sessions.Check(cookie, use_awaitable);
    REQUIRE(checked.ok());
    CHECK(checked.session.key == "alice");
    CHECK(checked.session.meta == "laptop");
    CHECK(checked.session.id == issued->session.id);
    CHECK(sync.Check(cookie).ok());

    auto other = sync.Set("alice", "phone");
    REQUIRE(other.ok());
    auto listed = co_await async_sessions.SessionsForKey("alice", use_awaitable);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 2);
    CHECK((*listed)[0].meta == "laptop");
    CHECK((*listed)[1].meta == "phone");

    // Why there is no session: the same statuses as Sessions::Check.
    CHECK((co_await async_sessions.Check("", use_awaitable)).status == CheckStatus::kAbsent);
    CHECK((co_await async_sessions.Check(f.options.cookie.name + "=nonsense", use_awaitable)).status ==
          CheckStatus::kMalformed);
    std::string forged = cookie;
    char& c = forged[forged.size() - 10];  // inside the token, away from its last (partial) character
    c = c == 'A' ? 'B' : 'A';
    CHECK((co_await async_sessions.Check(forged, use_awaitable)).status == CheckStatus::kUnknown);

    // Rotate: the old cookie stops working, the new one works (for both).
    auto rotated = co_await async_sessions.Rotate(cookie, use_awaitable);
    REQUIRE(rotated.ok());
    CHECK(rotated->session.id == issued->session.id);
    const std::string rotated_cookie = jeff::test::CookieOf(*rotated);
    CHECK((co_await async_sessions.Check(cookie, use_awaitable)).status == CheckStatus::kUnknown);
    CHECK(sync.Check(rotated_cookie).ok());
    CHECK((co_await async_sessions.Rotate(cookie, use_awaitable)).error() == jeff::Errc::kSessionNotFound);

    // Clear logs out this session only and expires the cookie.
    auto cleared = co_await async_sessions.Clear(rotated_cookie, use_awaitable);
    REQUIRE(cleared.ok());
    REQUIRE(cleared->size() == 1);
    CHECK((*cleared)[0].find("Max-Age=0") != std::string::npos);
    CHECK(sync.Check(rotated_cookie).status == CheckStatus::kUnknown);
    CHECK((co_await async_sessions.Check(jeff::test::CookieOf(*other), use_awaitable)).ok());

    // Delete chosen ids, then all.
    const std::vector<jeff::SessionId> ids{other->session.id};
    auto removed = co_await async_sessions.Delete("alice", ids, use_awaitable);
    REQUIRE(removed.ok());
    CHECK(*removed == 1);
    (void)sync.Set("alice", "tablet");
    (void)sync.Set("alice", "watch");
    auto deleted = co_await async_sessions.Delete("alice", use_awaitable);
    REQUIRE(deleted.ok());
    CHECK(*deleted == 2);
    auto empty = co_await async_sessions.SessionsForKey("alice", use_awaitable);
    REQUIRE(empty.ok());
    CHECK(empty->empty());
  });
}

// Issue 27 item 2, through the asynchronous driver.
TEST_CASE("Rotate keeps the login's cookie kind and every ext entry, as Sessions does") {
  Fixture f;
  f.options.max_age = 24h * 30;
  f.options.session_cookie_lifetime = 12h;
  jeff::AsyncSessions sessions = f.Async();
  jeff::Options browser_options = f.options;
  browser_options.max_age = 0s;
  jeff::AsyncSessions browser_app(browser_options, f.store, f.ioc.get_executor());
  const std::string store_key = jeff::test::StoreKeyOf(f.options, "xena");
  jeff::test::RunCoroutine(f.ioc, [&]() -> awaitable<void> {
    const auto once = (co_await sessions.Set("xena", "kiosk", jeff::SetOptions{.max_age = 0s}, use_awaitable)).value();
    const auto laptop = (co_await sessions.Set("xena", "laptop", use_awaitable)).value();
    CHECK_FALSE(once.session.persistent);
    CHECK(laptop.session.persistent);
    jeff::test::EditStored(*f.store, store_key, once.session.id, jeff::test::PlantDbscExt);
    const jeff::StoredSession planted = jeff::test::StoredOf(*f.store, store_key, once.session.id);
    f.clock.Advance(90min);

    // A browser-session cookie stays one; its ext entries stay as they were.
    const auto rotated_once = co_await sessions.Rotate(jeff::test::CookieOf(once), use_awaitable);
    REQUIRE(rotated_once.ok());
    CHECK_FALSE(rotated_once->session.persistent);
    CHECK_FALSE(jeff::test::CookieAttribute(rotated_once->set_cookie.front(), "Max-Age"));
    CHECK_FALSE(jeff::test::CookieAttribute(rotated_once->set_cookie.front(), "Expires"));
    CHECK(jeff::test::ExtOf(jeff::test::StoredOf(*f.store, store_key, once.session.id)) ==
          jeff::test::ExtOf(planted));

    // A persistent one: Max-Age = what is left, Expires = the session's end.
    const auto rotated_laptop = co_await sessions.Rotate(jeff::test::CookieOf(laptop), use_awaitable);
    REQUIRE(rotated_laptop.ok());
    CHECK(rotated_laptop->session.persistent);
    CHECK(jeff::test::CookieAttribute(rotated_laptop->set_cookie.front(), "Max-Age") ==
          std::to_string((24h * 30 - 90min) / 1s));
    CHECK(jeff::test::CookieAttribute(rotated_laptop->set_cookie.front(), "Expires") ==
          jeff::FormatHttpDate(laptop.session.expires));

    // Listing and Check show the kind; `laptop` carries no recorded choice,
    // so an application whose Options::max_age is 0 sees it as a browser session.
    const auto listed = (co_await sessions.SessionsForKey("xena", use_awaitable)).value();
    REQUIRE(listed.size() == 2);
    CHECK_FALSE(listed[0].persistent);
    CHECK(listed[1].persistent);
    CHECK_FALSE((co_await sessions.Check(jeff::test::CookieOf(*rotated_once), use_awaitable)).session.persistent);
    const auto seen_by_browser_app = (co_await browser_app.SessionsForKey("xena", use_awaitable)).value();
    CHECK_FALSE(seen_by_browser_app.at(0).persistent);
    CHECK_FALSE(seen_by_browser_app.at(1).persistent);
    const auto rotated_again = co_await browser_app.Rotate(jeff::test::CookieOf(*rotated_laptop), use_awaitable);
    REQUIRE(rotated_again.ok());
    CHECK_FALSE(jeff::test::CookieAttribute(rotated_again->set_cookie.front(), "Max-Age"));
  });
}

TEST_CASE("Check touches a session once per touch_interval and expiry follows the injected clock") {
  Fixture f;
  f.options.idle_timeout = 10min;
  f.options.max_age = 1h;
  jeff::AsyncSessions sessions(f.options, f.store, f.ioc.get_executor());
  jeff::test::RunCoroutine(f.ioc, [&]() -> awaitable<void> {
    auto issued = co_await sessions.Set("bob", "", use_awaitable);
    REQUIRE(issued.ok());
    const std::string cookie = jeff::test::CookieOf(*issued);
    const jeff::TimePoint created = issued->session.created;
    f.clock.Advance(9min);
    auto touched = co_await sessions.Check(cookie, use_awaitable);
    REQUIRE(touched.ok());
    CHECK(touched.session.last_seen == created + 9min);  // written back
    f.clock.Advance(9min);                               // idle 9 min since the touch: alive
    CHECK((co_await sessions.Check(cookie, use_awaitable)).ok());
    f.clock.Advance(11min);
    CHECK((co_await sessions.Check(cookie, use_awaitable)).status == CheckStatus::kExpired);
  });
}

TEST_CASE("bad input fails the same way as Sessions, without touching the store") {
  Fixture f;
  jeff::AsyncSessions sessions(f.options, f.store, f.ioc.get_executor());
  jeff::test::RunCoroutine(f.ioc, [&]() -> awaitable<void> {
    CHECK((co_await sessions.Set("", "", use_awaitable)).error() == jeff::Errc::kInvalidArgument);
    CHECK((co_await sessions.Set("k", std::string(f.options.max_meta_bytes + 1, 'm'), use_awaitable)).error() ==
          jeff::Errc::kInvalidArgument);
    CHECK((co_await sessions.Set("k", "", jeff::SetOptions{.max_age = -1s}, use_awaitable)).error() ==
          jeff::Errc::kInvalidArgument);
    CHECK((co_await sessions.Delete("", use_awaitable)).error() == jeff::Errc::kInvalidArgument);
    CHECK((co_await sessions.SessionsForKey("", use_awaitable)).error() == jeff::Errc::kInvalidArgument);
    auto cleared = co_await sessions.Clear("", use_awaitable);
    CHECK(cleared.ok());
  });
  CHECK(f.store->size() == 0);
}

TEST_CASE("a future works as the completion token, with the loop on another thread") {
  Fixture f;
  jeff::AsyncSessions sessions(f.options, f.store, f.ioc.get_executor());
  auto guard = boost::asio::make_work_guard(f.ioc);
  std::thread loop([&] { f.ioc.run(); });
  // The memory store may be called from any thread; completions still run on the loop.
  std::future<jeff::Result<jeff::Issued>> issued = sessions.Set("carol", "", boost::asio::use_future);
  auto value = issued.get();
  REQUIRE(value.ok());
  std::future<jeff::CheckResult> checked = sessions.Check(jeff::test::CookieOf(*value), boost::asio::use_future);
  CHECK(checked.get().ok());
  guard.reset();
  loop.join();
}

TEST_CASE("options are validated as for Sessions, and the store comes as an AsyncStore") {
  Fixture f;
  jeff::Options with_sync_store = f.options;
  with_sync_store.store = f.store;
  CHECK_THROWS_AS(jeff::AsyncSessions(with_sync_store, f.store, f.ioc.get_executor()), std::invalid_argument);
  jeff::Options bad = f.options;
  bad.cas_attempts = 0;
  CHECK_THROWS_AS(jeff::AsyncSessions(bad, f.store, f.ioc.get_executor()), std::invalid_argument);
  jeff::Options no_store = f.options;
  no_store.strategy = jeff::SessionStrategy::kStateful;
  CHECK_THROWS_AS(jeff::AsyncSessions(no_store, nullptr, f.ioc.get_executor()), std::invalid_argument);
}

TEST_CASE("stateless mode needs no store and answers through the same tokens") {
  Fixture f;
  f.options.stateless.secrets = {"q3Zt9XkP1vLm8RbW2yNc6HdF0sJa4TgE7uQo5iVx"};
  jeff::AsyncSessions sessions(f.options, nullptr, f.ioc.get_executor());
  jeff::test::RunCoroutine(f.ioc, [&]() -> awaitable<void> {
    auto issued = co_await sessions.Set("dave", "", use_awaitable);
    REQUIRE(issued.ok());
    std::string cookie;
    for (const std::string& c : issued->set_cookie) {
      if (!cookie.empty()) cookie += "; ";
      cookie += jeff::test::CookieHeaderOf(c);
    }
    auto checked = co_await sessions.Check(cookie, use_awaitable);
    REQUIRE(checked.ok());
    CHECK(checked.session.key == "dave");
    CHECK((co_await sessions.Rotate(cookie, use_awaitable)).error() == jeff::Errc::kUnsupported);
  });
}

TEST_CASE("memory store: AsyncSessions races lose nothing and resurrect nothing") {
  jeff::test::AsyncRaceHarness h;
  h.make_store = [](boost::asio::io_context&) { return std::make_shared<jeff::MemoryStore>(); };
  jeff::test::RunAsyncSessionsRaces(h);
}
