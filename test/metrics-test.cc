// Counters and events of Sessions on the memory store, moved by a scripted
// flow; the Prometheus exposition read back by the real parser (Python's
// prometheus_client, Debian python3-prometheus-client).

#include <doctest/doctest.h>
#include <jeff/metrics.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"

#ifdef JEFF_METRICS_TEST_ASYNC
#include <jeff/async_sessions.hpp>

#include <boost/asio/io_context.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>
#include <atomic>

namespace jeff::test {
namespace {

struct Fixture {
  ManualClock clock;
  std::vector<Event::Kind> events;
  std::vector<std::string> event_keys;
  Options options;

  explicit Fixture(bool metrics) {
    options.store = std::make_shared<MemoryStore>();
    options.clock = clock.AsClock();
    options.metrics = metrics;
    options.max_age = std::chrono::hours(1);
    options.on_event = [this](const Event& e) {
      events.push_back(e.kind);
      event_keys.emplace_back(e.key);
    };
  }
};

// Alice's cookie after a login through `sessions`.
std::string LogIn(Sessions& sessions) {
  auto issued = sessions.Set("alice@example.com", "");
  REQUIRE(issued.ok());
  return CookieOf(*issued);
}

TEST_CASE("counters move under a scripted flow on the memory store") {
  Fixture f(true);
  f.options.metrics_timed_one_in = 1;  // every store call timed
  Sessions sessions(f.options);
  CHECK(sessions.metrics().enabled);

  auto a = sessions.Set("alice@example.com", "laptop");
  auto b = sessions.Set("alice@example.com", "phone");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const std::string cookie_a = CookieOf(*a);
  const std::string cookie_b = CookieOf(*b);

  CHECK(sessions.Check(cookie_a).status == CheckStatus::kOk);
  CHECK(sessions.Check("").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("jeff_session=@@@").status == CheckStatus::kMalformed);

  auto rotated = sessions.Rotate(cookie_a);
  REQUIRE(rotated.ok());
  CHECK(sessions.Check(cookie_a).status == CheckStatus::kUnknown);  // the old token
  REQUIRE(sessions.Clear(CookieOf(*rotated)).ok());

  f.clock.Advance(std::chrono::hours(2));
  CHECK(sessions.Check(cookie_b).status == CheckStatus::kExpired);
  auto c = sessions.Set("bob@example.com", "");
  REQUIRE(c.ok());
  auto revoked = sessions.Delete("bob@example.com");
  REQUIRE(revoked.ok());
  CHECK(*revoked == 1);

  const MetricsSnapshot m = sessions.metrics();
  CHECK(m.checks.ok == 1);
  CHECK(m.checks.absent == 1);
  CHECK(m.checks.malformed == 1);
  CHECK(m.checks.unknown == 1);
  CHECK(m.checks.expired == 1);
  CHECK(m.checks.store_error == 0);
  CHECK(m.sets == 3);
  CHECK(m.rotations == 1);
  CHECK(m.clears == 1);
  CHECK(m.deletes == 1);
  CHECK(m.cas_attempts >= 5);  // 3 Sets, a Rotate, a Clear
  CHECK(m.cas_conflicts == 0);
  CHECK(m.store_errors == 0);
  const LatencyHistogram& fetches = m.store_calls[static_cast<std::size_t>(StoreOp::kFetch)];
  const LatencyHistogram& cas = m.store_calls[static_cast<std::size_t>(StoreOp::kCas)];
  const LatencyHistogram& erase = m.store_calls[static_cast<std::size_t>(StoreOp::kErase)];
  CHECK(fetches.calls >= 4);  // one per Check that reached the store, at least
  CHECK(cas.calls == m.cas_attempts);
  CHECK(erase.calls == 1);  // Delete(key)
  for (const LatencyHistogram* h : {&fetches, &cas, &erase}) CHECK(h->count == h->calls);
  std::uint64_t total = 0;
  for (std::uint64_t n : fetches.buckets) total += n;
  CHECK(total == fetches.count);
  CHECK(fetches.sum_seconds > 0);
  CHECK(f.events.empty());  // nothing notable happened
}

#ifdef JEFF_METRICS_TEST_ASYNC
TEST_CASE("AsyncSessions counts in the same layer: the same flow gives the same counters") {
  Fixture f(true);
  auto store = std::static_pointer_cast<MemoryStore>(f.options.store);
  f.options.store = nullptr;
  boost::asio::io_context ioc;
  AsyncSessions sessions(f.options, store, ioc.get_executor());
  std::string cookie;
  sessions.Set("alice@example.com", "laptop", [&](Result<Issued> issued) {
    REQUIRE(issued.ok());
    cookie = CookieOf(*issued);
  });
  ioc.run();
  ioc.restart();
  for (const std::string& header : {cookie, std::string(), std::string("jeff_session=@@@")}) {
    sessions.Check(header, [](CheckResult) {});
  }
  sessions.Rotate(cookie, [](Result<Issued> rotated) { CHECK(rotated.ok()); });
  ioc.run();
  ioc.restart();
  sessions.Delete("alice@example.com", [](Result<std::size_t> revoked) {
    REQUIRE(revoked.ok());
    CHECK(*revoked == 1);
  });
  ioc.run();
  const MetricsSnapshot m = sessions.metrics();
  CHECK(m.enabled);
  CHECK(m.sets == 1);
  CHECK(m.checks.ok == 1);
  CHECK(m.checks.absent == 1);
  CHECK(m.checks.malformed == 1);
  CHECK(m.rotations == 1);
  CHECK(m.deletes == 1);
  CHECK(m.cas_attempts == 2);  // Set, Rotate
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kCas)].calls == 2);
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kErase)].calls == 1);
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kFetch)].calls >= 2);
  CHECK(f.events.empty());
}
#endif

TEST_CASE("counters are exact across threads, while snapshots are taken, and after threads exit") {
  Fixture f(true);
  Sessions sessions(f.options);
  const std::string cookie = LogIn(sessions);
  constexpr int kThreads = 8;
  constexpr int kChecks = 500;
  std::atomic<bool> done{false};
  std::uint64_t seen = 0;
  std::thread reader([&] {  // snapshots never go down while the counts move
    while (!done.load()) {
      const std::uint64_t now = sessions.metrics().checks.ok;
      CHECK(now >= seen);
      seen = now;
    }
  });
  for (int round = 1; round <= 2; ++round) {  // round 2: new threads, the slots of round 1's
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kChecks; ++i) refused += sessions.Check(cookie).ok() ? 0 : 1;
      });
    }
    for (std::thread& t : threads) t.join();
    CHECK(refused == 0);
    const MetricsSnapshot m = sessions.metrics();
    CHECK(m.checks.ok == static_cast<std::uint64_t>(round) * kThreads * kChecks);
    CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kFetch)].calls == 1 + m.checks.ok);  // + Set's
  }
  done = true;
  reader.join();
  CHECK(seen <= 2 * kThreads * kChecks);
}

TEST_CASE("store calls are all counted and a random sample of them timed") {
  Fixture f(true);
  f.options.metrics_timed_one_in = 16;
  Sessions sessions(f.options);
  const std::string cookie = LogIn(sessions);
  const std::uint64_t fetches_before = sessions.metrics().store_calls[static_cast<std::size_t>(StoreOp::kFetch)].calls;
  constexpr int kChecks = 4000;
  for (int i = 0; i < kChecks; ++i) REQUIRE(sessions.Check(cookie).ok());
  const MetricsSnapshot m = sessions.metrics();
  const LatencyHistogram& fetches = m.store_calls[static_cast<std::size_t>(StoreOp::kFetch)];
  CHECK(fetches.calls == fetches_before + kChecks);
  // Gaps drawn uniformly from 1..31: about 250 timed; the bounds are many
  // standard deviations (about 14) wide.
  CHECK(fetches.count > 150);
  CHECK(fetches.count < 400);
  std::uint64_t total = 0;
  for (std::uint64_t n : fetches.buckets) total += n;
  CHECK(total == fetches.count);

  f.options.metrics_timed_one_in = 0;
  CHECK_THROWS_AS(Sessions{f.options}, std::invalid_argument);
}

// Fault injection around a real MemoryStore: while `contended` is set, each
// compare-and-swap first lets a concurrent writer rewrite the record (a real
// change through the same store, bumping its version), so the caller's
// swap genuinely loses.
class ContendedStore final : public Store {
 public:
  explicit ContendedStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  bool contended = false;

  Result<std::optional<Versioned>> Fetch(std::string_view key) override { return inner_->Fetch(key); }
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected, std::string_view value,
                              std::chrono::milliseconds ttl) override {
    if (contended) {
      auto current = inner_->Fetch(key);
      REQUIRE(current.ok());
      REQUIRE(current->has_value());
      REQUIRE(*inner_->CompareAndSwap(key, (*current)->version, (*current)->value, ttl));
    }
    return inner_->CompareAndSwap(key, expected, value, ttl);
  }
  Result<void> Erase(std::string_view key) override { return inner_->Erase(key); }

 private:
  std::shared_ptr<Store> inner_;
};

TEST_CASE("a change that loses every compare-and-swap is a conflict_exhausted event") {
  Fixture f(true);
  auto store = std::make_shared<ContendedStore>(f.options.store);
  f.options.store = store;
  f.options.cas_attempts = 3;
  f.options.cas_backoff = std::chrono::milliseconds(0);
  f.options.events_include_key = true;
  Sessions sessions(f.options);
  REQUIRE(sessions.Set("alice@example.com", "laptop").ok());
  const MetricsSnapshot before = sessions.metrics();

  store->contended = true;
  auto lost = sessions.Set("alice@example.com", "phone");
  store->contended = false;
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error() == Errc::kConflict);

  const MetricsSnapshot m = sessions.metrics();
  CHECK(m.sets == before.sets);  // nothing was created
  CHECK(m.cas_attempts == before.cas_attempts + 3);
  CHECK(m.cas_conflicts == before.cas_conflicts + 3);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0] == Event::Kind::kConflictExhausted);
  CHECK(ToString(f.events[0]) == "conflict_exhausted");
  // The store key of alice's record (the prefix and a hash, never the key).
  CHECK(f.event_keys[0].rfind(f.options.key_prefix, 0) == 0);
  CHECK(f.event_keys[0].find("alice") == std::string::npos);
  // Without the opt-in, the event carries no key.
  f.events.clear();
  f.event_keys.clear();
  f.options.events_include_key = false;
  Sessions quiet(f.options);
  store->contended = true;
  CHECK(quiet.Set("alice@example.com", "tablet").error() == Errc::kConflict);
  store->contended = false;
  REQUIRE(f.events.size() == 1);
  CHECK(f.event_keys[0].empty());
}

TEST_CASE("a denylisted stateless token is counted and is a denied_token event") {
  ManualClock clock;
  std::vector<Event> events;
  std::vector<std::string> keys;
  Options o;
  o.clock = clock.AsClock();
  o.stateless.secrets = {"metrics-test-secret-0123456789abcdef"};
  o.stateless.denylist = std::make_shared<MemoryStore>();
  o.logger = [](std::string_view) {};
  o.metrics = true;
  o.on_event = [&](const Event& e) {
    events.push_back(e);
    keys.emplace_back(e.key);
  };
  SUBCASE("the application key only on opt-in") {}
  SUBCASE("with events_include_key") { o.events_include_key = true; }
  Sessions sessions(o);
  auto issued = sessions.Set("alice@example.com", "");
  REQUIRE(issued.ok());
  const std::string cookie = CookieOf(*issued);
  REQUIRE(sessions.Check(cookie).ok());
  REQUIRE(sessions.Clear(cookie).ok());
  CHECK(sessions.Check(cookie).status == CheckStatus::kUnknown);

  const MetricsSnapshot m = sessions.metrics();
  CHECK(m.denylist_hits == 1);
  CHECK(m.checks.ok == 1);
  CHECK(m.checks.unknown == 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == Event::Kind::kDeniedToken);
  CHECK(ToString(events[0].kind) == "denied_token");
  CHECK(keys[0] == (o.events_include_key ? "alice@example.com" : ""));
}

// Stateless Set, Clear and Delete(key, ids) are counted as the stateful
// ones are, and the denylist's writes (one only-if-absent compare-and-swap
// per revoked session) as compare-and-swap calls; finding an entry already
// there is no conflict (the session is revoked either way).
TEST_CASE("stateless Set, Clear and Delete(key, ids) are counted, and so are the denylist's writes") {
  ManualClock clock;
  std::vector<Event::Kind> events;
  Options o;
  o.clock = clock.AsClock();
  o.stateless.secrets = {"metrics-test-secret-0123456789abcdef"};
  o.logger = [](std::string_view) {};
  o.metrics = true;
  o.on_event = [&](const Event& e) { events.push_back(e.kind); };
  const auto calls = [](const MetricsSnapshot& m, StoreOp op) { return m.store_calls[static_cast<std::size_t>(op)].calls; };
  SUBCASE("without a denylist: no store call") {
    Sessions sessions(o);
    auto a = sessions.Set("alice@example.com", "");
    REQUIRE(a.ok());
    REQUIRE(sessions.Clear(CookieOf(*a)).ok());
    const MetricsSnapshot m = sessions.metrics();
    CHECK(m.sets == 1);
    CHECK(m.clears == 1);
    CHECK(m.deletes == 0);
    CHECK(m.cas_attempts == 0);
    for (const StoreOp op : {StoreOp::kFetch, StoreOp::kCas, StoreOp::kErase}) CHECK(calls(m, op) == 0);
  }
  SUBCASE("with a denylist") {
    o.stateless.denylist = std::make_shared<MemoryStore>();
    Sessions sessions(o);
    auto a = sessions.Set("alice@example.com", "laptop");
    auto b = sessions.Set("alice@example.com", "phone");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(sessions.Clear(CookieOf(*a)).ok());  // denies a: one write
    // b is denied now; a was already, and b's second mention finds b denied.
    const SessionId ids[] = {b->session.id, a->session.id, b->session.id};
    auto revoked = sessions.Delete("alice@example.com", ids);
    REQUIRE(revoked.ok());
    CHECK(*revoked == 1);
    CHECK(sessions.Check(CookieOf(*b)).status == CheckStatus::kUnknown);  // one denylist read

    const MetricsSnapshot m = sessions.metrics();
    CHECK(m.sets == 2);
    CHECK(m.clears == 1);
    CHECK(m.deletes == 1);
    CHECK(m.cas_attempts == 4);
    CHECK(m.cas_conflicts == 0);
    CHECK(calls(m, StoreOp::kCas) == 4);
    CHECK(calls(m, StoreOp::kFetch) == 1);
    CHECK(calls(m, StoreOp::kErase) == 0);
    CHECK(m.store_errors == 0);
    CHECK(m.denylist_hits == 1);
    REQUIRE(events.size() == 1);
    CHECK(events[0] == Event::Kind::kDeniedToken);
  }
}

TEST_CASE("metrics off: nothing is counted") {
  Fixture f(false);
  Sessions sessions(f.options);
  auto a = sessions.Set("alice@example.com", "");
  REQUIRE(a.ok());
  CHECK(sessions.Check(CookieOf(*a)).ok());
  const MetricsSnapshot m = sessions.metrics();
  CHECK_FALSE(m.enabled);
  CHECK(m.checks.ok == 0);
  CHECK(m.sets == 0);
  CHECK(m.store_calls[0].count == 0);
  CHECK(m.store_calls[0].calls == 0);
}

TEST_CASE("insecure mode is an event, given at construction") {
  Fixture f(false);
  f.options.insecure = true;
  f.options.logger = [](std::string_view) {};
  Sessions sessions(f.options);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0] == Event::Kind::kInsecureMode);
  CHECK(f.event_keys[0].empty());
  CHECK(ToString(f.events[0]) == "insecure_mode");
}

TEST_CASE("WritePrometheus rejects a bad prefix") {
  CHECK_THROWS_AS(WritePrometheus(MetricsSnapshot{}, "9bad"), std::invalid_argument);
  CHECK_THROWS_AS(WritePrometheus(MetricsSnapshot{}, "bad-prefix"), std::invalid_argument);
  CHECK_NOTHROW(WritePrometheus(MetricsSnapshot{}, "app:jeff_"));
}

// Runs the real Prometheus text parser over `text`; returns its exit status.
// The script checks the families, types and values given in `checks`
// (Python statements over `fam`, a dict name -> family, and `val`, a dict
// (sample name, frozenset of labels) -> value).
int ParseWithPrometheusClient(const std::string& text, const std::string& checks) {
  const std::string dir = std::getenv("JEFF_BUILD_ROOT") ? std::getenv("JEFF_BUILD_ROOT") : ".";
  const std::string exposition = dir + "/metrics-test.prom";
  const std::string script = dir + "/metrics-test.py";
  std::ofstream(exposition, std::ios::binary) << text;
  std::ofstream(script) << "import sys\n"
                           "from prometheus_client.parser import text_string_to_metric_families\n"
                           "fam = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}\n"
                           "val = {(s.name, frozenset(s.labels.items())): s.value for f in fam.values() for s in f.samples}\n"
                        << checks << "print('parsed', len(fam), 'families,', len(val), 'samples')\n";
  const char* python = std::getenv("JEFF_PYTHON3");
  const int status = std::system((std::string(python ? python : "python3") + " " + script + " " + exposition).c_str());
  std::remove(exposition.c_str());
  std::remove(script.c_str());
  return status;
}

TEST_CASE("the exposition is read back by prometheus_client's parser") {
  Fixture f(true);
  f.options.metrics_timed_one_in = 1;
  Sessions sessions(f.options);
  const std::string cookie = LogIn(sessions);
  CHECK(sessions.Check(cookie).ok());
  CHECK(sessions.Check(cookie).ok());
  CHECK(sessions.Check("").status == CheckStatus::kAbsent);
  const MetricsSnapshot m = sessions.metrics();
  const std::string text = WritePrometheus(m);
  const std::string cas = std::to_string(m.cas_attempts);
  const std::string fetches = std::to_string(m.store_calls[0].count);
  const std::string fetch_calls = std::to_string(m.store_calls[0].calls);
  CHECK(ParseWithPrometheusClient(
            text,
            "assert fam['jeff_checks'].type == 'counter', fam['jeff_checks'].type\n"
            "assert val[('jeff_checks_total', frozenset({('status', 'ok')}))] == 2\n"
            "assert val[('jeff_checks_total', frozenset({('status', 'absent')}))] == 1\n"
            "assert val[('jeff_checks_total', frozenset({('status', 'store_error')}))] == 0\n"
            "assert fam['jeff_sets'].type == 'counter'\n"
            "assert val[('jeff_sets_total', frozenset())] == 1\n"
            "assert val[('jeff_cas_attempts_total', frozenset())] == " + cas + "\n"
            "for name in ['clears', 'deletes', 'rotations', 'cas_conflicts', 'store_errors',\n"
            "             'token_refreshes', 'denylist_hits']:\n"
            "  assert fam['jeff_' + name].type == 'counter', name\n"
            "assert fam['jeff_store_calls'].type == 'counter'\n"
            "assert val[('jeff_store_calls_total', frozenset({('op', 'fetch')}))] == " + fetch_calls + "\n"
            "h = fam['jeff_store_call_seconds']\n"
            "assert h.type == 'histogram'\n"
            "ops = {s.labels['op'] for s in h.samples}\n"
            "assert ops == {'fetch', 'cas', 'erase'}, ops\n"
            "inf = val[('jeff_store_call_seconds_bucket', frozenset({('op', 'fetch'), ('le', '+Inf')}))]\n"
            "assert inf == " + fetches + " and inf == val[('jeff_store_call_seconds_count', frozenset({('op', 'fetch')}))]\n"
            "buckets = [s for s in h.samples if s.name.endswith('_bucket') and s.labels['op'] == 'fetch']\n"
            "assert len(buckets) == 15, len(buckets)\n"
            "assert all(x.value <= y.value for x, y in zip(buckets, buckets[1:]))\n"
            "assert val[('jeff_store_call_seconds_sum', frozenset({('op', 'fetch')}))] > 0\n") == 0);
  // The parser really checks: a wrong expectation fails, a right one passes.
  CHECK(ParseWithPrometheusClient(text, "assert val[('jeff_sets_total', frozenset())] == 1\n") == 0);
  CHECK(ParseWithPrometheusClient(text, "assert val[('jeff_sets_total', frozenset())] == 2\n") != 0);
}

TEST_CASE("several managers on one page, told apart by their labels, as the parser reads them") {
  Fixture memory_fixture(true);
  Fixture other_fixture(true);
  Sessions first(memory_fixture.options);
  Sessions second(other_fixture.options);
  const std::string cookie = LogIn(first);
  CHECK(first.Check(cookie).ok());
  CHECK(second.Check("").status == CheckStatus::kAbsent);
  const MetricsSnapshot a = first.metrics();
  const MetricsSnapshot b = second.metrics();
  // A value with the characters the format escapes.
  const LabeledSnapshot page[] = {{a, {{"store", "memory"}, {"app", "web"}}},
                                  {b, {{"app", "web"}, {"store", "odd \"name\" \\ with\nnewline"}}}};
  const std::string text = WritePrometheus(page);
  CHECK(ParseWithPrometheusClient(
            text,
            "odd = 'odd \"name\" \\\\ with\\nnewline'\n"
            "A = (('app', 'web'), ('store', 'memory'))\n"
            "B = (('app', 'web'), ('store', odd))\n"
            "def v(name, labels, **more):\n"
            "  return val[(name, frozenset(labels + tuple(more.items())))]\n"
            "assert v('jeff_checks_total', A, status='ok') == 1\n"
            "assert v('jeff_checks_total', B, status='ok') == 0\n"
            "assert v('jeff_checks_total', B, status='absent') == 1\n"
            "assert v('jeff_sets_total', A) == 1 and v('jeff_sets_total', B) == 0\n"
            "assert v('jeff_store_calls_total', A, op='fetch') == " +
                std::to_string(a.store_calls[0].calls) + "\n"
            "assert v('jeff_store_call_seconds_count', B, op='cas') == 0\n"
            "assert len(fam['jeff_checks'].samples) == 14\n"
            "assert len(fam) == 15, sorted(fam)\n") == 0);

  const LabeledSnapshot same[] = {{a, {{"store", "x"}}}, {b, {{"store", "x"}}}};
  CHECK_THROWS_AS(WritePrometheus(same), std::invalid_argument);
  const LabeledSnapshot unlabeled[] = {{a, {}}, {b, {}}};
  CHECK_THROWS_AS(WritePrometheus(unlabeled), std::invalid_argument);
  for (const char* bad : {"op", "le", "status", "__name", "9x", "a-b", ""}) {
    const LabeledSnapshot one[] = {{a, {{bad, "v"}}}};
    CHECK_THROWS_AS(WritePrometheus(one), std::invalid_argument);
  }
  const LabeledSnapshot repeated[] = {{a, {{"store", "x"}, {"store", "y"}}}};
  CHECK_THROWS_AS(WritePrometheus(repeated), std::invalid_argument);
  // One unlabeled snapshot is the single-snapshot page.
  const LabeledSnapshot alone[] = {{a, {}}};
  CHECK(WritePrometheus(alone) == WritePrometheus(a));
}

}  // namespace
}  // namespace jeff::test
