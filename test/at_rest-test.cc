// Encryption at rest (Options::at_rest) through Sessions on the memory
// store (the real stores run the same flow in their per-store suites).
#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include "support/at_rest_flow.hpp"
#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"

#include <memory>
#include <stdexcept>

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

std::string MemoryDump(Store& store, const std::string& store_key) { return StoredValue(store, store_key).value; }

TEST_CASE("at rest: sealed records, rollout, rotation and swaps through Sessions on the memory store") {
  MemoryFixture f;
  RunAtRestFlow(
      *f.store, f.options, [](const Options& o) { return std::make_unique<Sessions>(o); },
      [&](const std::string& store_key) { return MemoryDump(*f.store, store_key); });
}

TEST_CASE("at rest: Check's touch and Delete work on sealed records") {
  MemoryFixture f;
  f.options.at_rest.keys = {AtRestTestKey(7)};
  Sessions sessions(f.options);
  auto issued = sessions.Set("ann@example.com", "laptop");
  REQUIRE(issued.ok());
  const std::string store_key = StoreKeyOf(f.options, "ann@example.com");
  const std::string before = MemoryDump(*f.store, store_key);
  CheckSealed(before, "ann@example.com", "laptop");
  f.clock.Advance(2min);  // past touch_interval: this Check writes last_seen
  const CheckResult touched = sessions.Check(CookieOf(*issued));
  REQUIRE(touched.ok());
  CHECK(touched.session.last_seen == f.clock.Now());
  const std::string after = MemoryDump(*f.store, store_key);
  CHECK(after != before);
  CheckSealed(after, "ann@example.com", "laptop");
  CHECK(sessions.Check(CookieOf(*issued)).session.last_seen == f.clock.Now());
  CHECK(sessions.Delete("ann@example.com").value() == 1);
  CHECK(sessions.Check(CookieOf(*issued)).status == CheckStatus::kUnknown);
}

TEST_CASE("at rest: rolling back, a server with seal_writes off writes a sealed record back in clear") {
  MemoryFixture f;
  Options sealing = f.options;
  sealing.at_rest.keys = {AtRestTestKey(1)};
  Options back = sealing;
  back.at_rest.seal_writes = false;
  Sessions writer(sealing);
  Sessions reader(back);
  Sessions old_server(f.options);
  auto issued = writer.Set("ann@example.com", "laptop");
  REQUIRE(issued.ok());
  const std::string store_key = StoreKeyOf(f.options, "ann@example.com");
  CheckSealed(MemoryDump(*f.store, store_key), "ann@example.com", "laptop");
  REQUIRE(reader.UpdateMeta(CookieOf(*issued), "desk").ok());
  const std::string clear = MemoryDump(*f.store, store_key);
  CHECK_FALSE(IsSealedRecord(clear));
  CHECK(clear.find("ann@example.com") != std::string::npos);
  CHECK(old_server.Check(CookieOf(*issued)).session.meta == "desk");  // readable without the ring again
}

TEST_CASE("at rest: off by default, the ring validated at construction") {
  MemoryFixture f;
  {
    Sessions sessions(f.options);
    REQUIRE(sessions.Set("ann@example.com", "laptop").ok());
    CHECK_FALSE(IsSealedRecord(MemoryDump(*f.store, StoreKeyOf(f.options, "ann@example.com"))));
  }
  f.options.at_rest.keys = {AtRestKey{1, "short"}};
  CHECK_THROWS_AS(Sessions{f.options}, std::invalid_argument);
  f.options.at_rest.keys = {AtRestTestKey(1), AtRestKey{1, std::string(kAtRestKeyBytes, 'x')}};
  CHECK_THROWS_AS(Sessions{f.options}, std::invalid_argument);
}

}  // namespace
}  // namespace jeff::test
