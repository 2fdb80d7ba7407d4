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
#include <vector>

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

TEST_CASE("counters move under a scripted flow on the memory store") {
  Fixture f(true);
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
  CHECK(fetches.count >= 4);  // one per Check that reached the store, at least
  CHECK(cas.count == m.cas_attempts);
  CHECK(erase.count == 1);  // Delete(key)
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
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kCas)].count == 2);
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kErase)].count == 1);
  CHECK(m.store_calls[static_cast<std::size_t>(StoreOp::kFetch)].count >= 2);
  CHECK(f.events.empty());
}
#endif

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
  Sessions sessions(f.options);
  auto a = sessions.Set("alice@example.com", "");
  REQUIRE(a.ok());
  CHECK(sessions.Check(CookieOf(*a)).ok());
  CHECK(sessions.Check(CookieOf(*a)).ok());
  CHECK(sessions.Check("").status == CheckStatus::kAbsent);
  const MetricsSnapshot m = sessions.metrics();
  const std::string text = WritePrometheus(m);
  const std::string cas = std::to_string(m.cas_attempts);
  const std::string fetches = std::to_string(m.store_calls[0].count);
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

}  // namespace
}  // namespace jeff::test
