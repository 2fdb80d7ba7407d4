// PooledAsyncStore: completions on the loop thread, a bounded queue, a loop
// that keeps running while store calls block, and destruction with calls in
// flight. Blocking calls come from a real memcached stopped with SIGSTOP.
#include <doctest/doctest.h>
#include <jeff/stores/memory/memory_store.hpp>
#include <jeff/stores/pooled_async_store.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "memcached/memcached_support.hpp"
#include "support/async_store_contract.hpp"
#include "support/replicated_store.hpp"
#include "support/timing.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

using Clock = std::chrono::steady_clock;

// A memcached store on `server` whose calls block for `io_timeout` while the
// server is paused.
std::shared_ptr<Store> BlockingStore(const ServerProcess& server, std::chrono::milliseconds io_timeout) {
  MemcachedStoreOptions o = TestOptions({&server});
  o.io_timeout = io_timeout;
  o.connect_timeout = io_timeout;
  return std::make_shared<MemcachedStore>(o);
}

// Counts the calls that have entered a real store (the pool's threads are
// inside it once they did), so that a test waits for that, not for a guess.
class EnteredStore final : public Store {
 public:
  explicit EnteredStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  std::atomic<int> entered{0};

  Result<std::optional<Versioned>> Fetch(std::string_view key) override {
    entered.fetch_add(1);
    return inner_->Fetch(key);
  }
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                              std::string_view value, std::chrono::milliseconds ttl) override {
    entered.fetch_add(1);
    return inner_->CompareAndSwap(key, expected, value, ttl);
  }
  Result<void> Erase(std::string_view key) override {
    entered.fetch_add(1);
    return inner_->Erase(key);
  }

 private:
  std::shared_ptr<Store> inner_;
};

TEST_CASE("pooled async store: handlers run on the loop thread, never on a pool thread") {
  boost::asio::io_context loop;
  auto guard = boost::asio::make_work_guard(loop);
  std::thread loop_thread([&] { loop.run(); });
  const std::thread::id loop_id = loop_thread.get_id();

  PooledAsyncStore store(std::make_shared<MemoryStore>(), loop.get_executor(), {4, 1024});
  constexpr int kRounds = 100;
  std::mutex mu;
  std::vector<std::thread::id> ran_on;
  std::promise<void> all_done;
  std::atomic<int> left{3 * kRounds};
  auto record = [&] {
    {
      std::lock_guard lock(mu);
      ran_on.push_back(std::this_thread::get_id());
    }
    if (left.fetch_sub(1) == 1) all_done.set_value();
  };
  // Called from this thread (not the loop's): allowed, and still delivered
  // on the loop.
  for (int i = 0; i < kRounds; ++i) {
    const std::string key = UniqueKey("thread");
    store.AsyncCompareAndSwap(key, std::nullopt, "v", 1min, [&](Result<bool> r) {
      CHECK(r.value());
      record();
    });
    store.AsyncFetch(key, [&](Result<std::optional<Versioned>>) { record(); });
    store.AsyncErase(key, [&](Result<void> r) {
      CHECK(r.ok());
      record();
    });
  }
  REQUIRE(all_done.get_future().wait_for(30s) == std::future_status::ready);

  // Called from the loop thread: the handler is not run before the call returns.
  std::promise<bool> inline_call;
  boost::asio::post(loop, [&] {
    auto called = std::make_shared<bool>(false);  // the handler runs after this lambda
    store.AsyncFetch(UniqueKey("posted"), [called](Result<std::optional<Versioned>>) { *called = true; });
    inline_call.set_value(*called);
  });
  CHECK_FALSE(inline_call.get_future().get());

  guard.reset();
  loop_thread.join();
  REQUIRE(ran_on.size() == 3 * kRounds);
  CHECK(std::all_of(ran_on.begin(), ran_on.end(), [&](std::thread::id id) { return id == loop_id; }));
  CHECK(store.pending() == 0);
}

TEST_CASE("pooled async store: the loop runs on while calls block, and a full queue fails at once") {
  auto server = StartMemcached();
  boost::asio::io_context loop;
  PooledAsyncStore store(BlockingStore(*server, 2500ms), loop.get_executor(),
                         {.threads = 2, .max_queued = 3});
  // Connect first, so that the calls below block on requests, not connects.
  REQUIRE(AsyncStoreDriver(store, loop).Erase(UniqueKey("warm")).ok());
  PauseAndWait(*server);

  // 2 running + 3 waiting: admitted.
  std::vector<int> calls(5, 0);
  std::vector<std::error_code> errors(5);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    store.AsyncFetch(UniqueKey("blocked"), [&, i](Result<std::optional<Versioned>> r) {
      ++calls[i];
      errors[i] = r.error();
    });
  }
  CHECK(store.pending() == 5);

  // The sixth is refused without waiting for a thread, and not inline.
  const auto refused_at = Clock::now();
  std::optional<std::error_code> refused;
  std::optional<Clock::duration> refused_after;
  std::ptrdiff_t completed_before_refusal = -1;
  store.AsyncCompareAndSwap(UniqueKey("refused"), std::nullopt, "v", 1min, [&](Result<bool> r) {
    refused = r.error();
    refused_after = Clock::now() - refused_at;
    completed_before_refusal = std::count(calls.begin(), calls.end(), 1);
  });
  CHECK_FALSE(refused.has_value());
  CHECK(store.pending() == 5);

  // Meanwhile a 10 ms timer on the same loop keeps its pace.
  boost::asio::steady_timer timer(loop);
  Clock::duration worst_late{};
  int ticks = 0;
  std::function<void()> arm = [&] {
    const auto due = Clock::now() + 10ms;
    timer.expires_at(due);
    timer.async_wait([&, due](boost::system::error_code) {
      worst_late = std::max(worst_late, Clock::now() - due);
      if (++ticks < 100) arm();
    });
  };
  arm();
  loop.restart();  // the warm-up call ran it out of work
  loop.run_for(1000ms);
  REQUIRE(refused.has_value());
  CHECK(*refused == Errc::kStoreUnavailable);
  CHECK(completed_before_refusal == 0);  // refused before any admitted call ended
  JEFF_CHECK_WITHIN(*refused_after, Clock::duration(500ms));
  CHECK(std::count(calls.begin(), calls.end(), 0) == 5);  // still blocked in the store
  MESSAGE("worst lateness of a 10 ms timer while the store blocked: "
          << std::chrono::duration<double, std::milli>(worst_late).count() << " ms, "
          << ticks << " ticks in 1 s");
  CHECK(ticks > 0);  // the timer ran while every admitted call was blocked
  if constexpr (!kSanitized) {
    CHECK(ticks >= 50);
    CHECK(worst_late < 200ms);
  }

  loop.restart();
  loop.run();  // returns once the admitted calls completed: they were outstanding work
  CHECK(ticks == 100);
  CHECK(std::count(calls.begin(), calls.end(), 1) == 5);
  // The two that were running waited out io_timeout on the stopped server;
  // the others failed after them, as store errors too.
  CHECK(std::count(errors.begin(), errors.end(), make_error_code(Errc::kStoreTimeout)) >= 1);
  CHECK(std::all_of(errors.begin(), errors.end(), [](std::error_code ec) { return IsStoreError(ec); }));
  CHECK(store.pending() == 0);
  server->Resume();
}

TEST_CASE("pooled async store: destruction with calls in flight joins and drops their handlers") {
  auto server = StartMemcached();
  boost::asio::io_context loop;
  auto blocking = std::make_shared<EnteredStore>(BlockingStore(*server, 1000ms));
  auto store = std::make_unique<PooledAsyncStore>(blocking, loop.get_executor(),
                                                  PooledAsyncStoreOptions{.threads = 2, .max_queued = 16});
  REQUIRE(AsyncStoreDriver(*store, loop).Erase(UniqueKey("warm")).ok());
  PauseAndWait(*server);
  std::atomic<int> called{0};
  for (int i = 0; i < 8; ++i) {
    store->AsyncFetch(UniqueKey("dropped"), [&](Result<std::optional<Versioned>>) { ++called; });
  }
  CHECK(store->pending() == 8);
  // Both pool threads are inside the store (the warm-up call was the first).
  const auto deadline = Clock::now() + 10s;
  while (blocking->entered.load() < 1 + 2) {
    REQUIRE(Clock::now() < deadline);
    std::this_thread::sleep_for(1ms);
  }

  const auto start = Clock::now();
  store.reset();
  const auto took = Clock::now() - start;
  MESSAGE("destructor with 2 calls in the store and 6 waiting: "
          << std::chrono::duration<double, std::milli>(took).count() << " ms");
  // It waited for the two calls in the store (io_timeout), not for the six
  // that never started.
  CHECK(took > 500ms);
  JEFF_CHECK_WITHIN(took, Clock::duration(5s));
  server->Resume();
  loop.restart();
  loop.run_for(5s);
  CHECK(loop.stopped());  // ran out of work: none was left behind
  CHECK(called.load() == 0);
}

// The loop's executor, counting the work its tracked copies hold (besides
// holding it on the loop) and recording the thread on which the count fell
// to zero each time.
struct WorkLedger {
  std::mutex mu;
  int live = 0;                                    // guarded by `mu`
  std::vector<std::thread::id> fell_to_zero_on;    // guarded by `mu`

  int Live() {
    std::lock_guard lock(mu);
    return live;
  }
};

template <bool Tracked>
class LedgerExecutor {
 public:
  using Inner = boost::asio::io_context::executor_type;
  LedgerExecutor(Inner inner, WorkLedger* ledger) noexcept : inner_(inner), ledger_(ledger) { Hold(); }
  LedgerExecutor(const LedgerExecutor& other) noexcept : LedgerExecutor(other.inner_, other.ledger_) {}
  // Moved from, it holds nothing (as asio's own tracked executors).
  LedgerExecutor(LedgerExecutor&& other) noexcept
      : inner_(other.inner_), ledger_(std::exchange(other.ledger_, nullptr)) {}
  LedgerExecutor& operator=(LedgerExecutor other) noexcept {
    std::swap(inner_, other.inner_);
    std::swap(ledger_, other.ledger_);
    return *this;
  }
  ~LedgerExecutor() { Drop(); }

  template <typename F>
  void execute(F&& f) const {
    boost::asio::execution::execute(boost::asio::require(inner_, boost::asio::execution::blocking.never),
                                    std::forward<F>(f));
  }
  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return inner_.context();
  }
  static constexpr auto query(boost::asio::execution::blocking_t) noexcept {
    return boost::asio::execution::blocking.never;
  }
  LedgerExecutor require(boost::asio::execution::blocking_t::never_t) const noexcept { return *this; }
  LedgerExecutor<true> require(boost::asio::execution::outstanding_work_t::tracked_t) const noexcept {
    return {inner_, ledger_};
  }
  LedgerExecutor<false> require(boost::asio::execution::outstanding_work_t::untracked_t) const noexcept {
    return {inner_, ledger_};
  }
  friend bool operator==(const LedgerExecutor& a, const LedgerExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.ledger_ == b.ledger_;
  }
  friend bool operator!=(const LedgerExecutor& a, const LedgerExecutor& b) noexcept { return !(a == b); }

 private:
  void Hold() noexcept {
    if constexpr (Tracked) {
      if (ledger_ == nullptr) return;
      inner_.on_work_started();
      std::lock_guard lock(ledger_->mu);
      ++ledger_->live;
    }
  }
  void Drop() noexcept {
    if constexpr (Tracked) {
      if (ledger_ == nullptr) return;
      {
        std::lock_guard lock(ledger_->mu);
        if (--ledger_->live == 0) ledger_->fell_to_zero_on.push_back(std::this_thread::get_id());
      }
      inner_.on_work_finished();
    }
  }

  Inner inner_;
  WorkLedger* ledger_;
};

TEST_CASE("pooled async store: a call holds the loop's work until its handler ran, then lets go on the loop") {
  // A loop run only while a call is pending (as a one-shot tool or a test
  // runs it) stops when its work count falls to zero. Let go of late from a
  // pool thread, a finished call's hold could reach zero just after the
  // application started its next call and restarted the loop, and stop it
  // with that call pending. So the hold ends on the loop's thread, after
  // the handler.
  boost::asio::io_context loop;
  WorkLedger ledger;
  PooledAsyncStore store(std::make_shared<MemoryStore>(),
                         LedgerExecutor<false>(loop.get_executor(), &ledger),
                         PooledAsyncStoreOptions{.threads = 2});
  const std::string key = UniqueKey("hold");
  constexpr int kCalls = 200;
  int held_while_pending = 0;
  int held_in_handler = 0;
  int held_after = 0;
  for (int i = 0; i < kCalls; ++i) {
    bool done = false;
    store.AsyncErase(key, [&](Result<void>) {
      done = true;
      if (ledger.Live() > 0) ++held_in_handler;
    });
    if (ledger.Live() > 0) ++held_while_pending;
    loop.restart();
    while (!done && loop.run_one_for(10s) != 0) {
    }
    REQUIRE(done);
    if (ledger.Live() > 0) ++held_after;
  }
  CHECK(held_while_pending == kCalls);
  CHECK(held_in_handler == kCalls);
  CHECK(held_after == 0);
  std::lock_guard lock(ledger.mu);
  CHECK(ledger.fell_to_zero_on.size() == static_cast<std::size_t>(kCalls));
  CHECK(std::all_of(ledger.fell_to_zero_on.begin(), ledger.fell_to_zero_on.end(),
                    [](std::thread::id id) { return id == std::this_thread::get_id(); }));
}

TEST_CASE("pooled async store: a handler may destroy the store") {
  boost::asio::io_context loop;
  auto store = std::make_unique<PooledAsyncStore>(std::make_shared<MemoryStore>(),
                                                  loop.get_executor());
  int called = 0;
  for (int i = 0; i < 4; ++i) {
    store->AsyncErase(UniqueKey("self"), [&](Result<void>) {
      ++called;
      store.reset();  // the first handler ends the store; the others are dropped
    });
  }
  loop.run();
  CHECK(called == 1);
  CHECK(store == nullptr);
}

TEST_CASE("pooled async store: says whether it waits for replicas as its synchronous store does") {
  boost::asio::io_context loop;
  CHECK(PooledAsyncStore(std::make_shared<jeff::test::ReplicatedStore>(), loop.get_executor()).WaitsForReplicas());
  CHECK(!PooledAsyncStore(std::make_shared<MemoryStore>(), loop.get_executor()).WaitsForReplicas());
}

TEST_CASE("pooled async store: refuses a null store and zero threads") {
  boost::asio::io_context loop;
  CHECK_THROWS_AS(PooledAsyncStore(nullptr, loop.get_executor()), std::invalid_argument);
  CHECK_THROWS_AS(PooledAsyncStore(std::make_shared<MemoryStore>(), loop.get_executor(), {.threads = 0}),
                  std::invalid_argument);
}

}  // namespace
}  // namespace jeff::test
