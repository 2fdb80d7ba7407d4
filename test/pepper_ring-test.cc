// Options::read_peppers (the pepper ring) on the memory store with Sessions:
// a rotation's rollout steps sharing one store, validation, the move from
// no pepper to one, and the stateless denylist under a ring.
#include <doctest/doctest.h>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/pepper_flow.hpp"

#include <memory>
#include <stdexcept>

using jeff::CheckStatus;
using jeff::Options;
using jeff::Sessions;
using jeff::test::CookieOf;
using jeff::test::WithPeppers;

TEST_CASE("a pepper rotation logs nobody out: every rollout step on one store") {
  jeff::test::RunPepperRotation(std::make_shared<jeff::MemoryStore>());
}

TEST_CASE("read_peppers must differ from each other and from pepper") {
  jeff::test::MemoryFixture f;
  CHECK_THROWS_AS(Sessions(WithPeppers(f.options, "p", {"p"})), std::invalid_argument);
  CHECK_THROWS_AS(Sessions(WithPeppers(f.options, "p", {"q", "q"})), std::invalid_argument);
  CHECK_THROWS_AS(Sessions(WithPeppers(f.options, "", {""})), std::invalid_argument);
  CHECK_NOTHROW(Sessions(WithPeppers(f.options, "p", {"q", ""})));
}

TEST_CASE("from no pepper to one: the empty entry reads what plain SHA-256 stored") {
  jeff::test::MemoryFixture f;
  Sessions plain(f.options);
  Sessions peppered(WithPeppers(f.options, "a server secret", {""}));
  const jeff::Issued old = plain.Set("ann", "laptop").value();
  f.clock.Advance(std::chrono::seconds(1));
  const jeff::Issued fresh = peppered.Set("ann", "phone").value();
  f.clock.Advance(std::chrono::seconds(1));
  const jeff::Issued older_record = plain.Set("ann", "tablet").value();
  auto list = peppered.SessionsForKey("ann");
  REQUIRE(list.ok());
  REQUIRE(list->size() == 3);  // oldest first across the two records
  CHECK((*list)[0].id == old.session.id);
  CHECK((*list)[1].id == fresh.session.id);
  CHECK((*list)[2].id == older_record.session.id);
  CHECK(peppered.Delete("ann", std::span<const jeff::SessionId>(&older_record.session.id, 1)).value() == 1);
  CHECK(peppered.SessionsForKey("ann")->size() == 2);
  CHECK(plain.SessionsForKey("ann")->size() == 1);
  CHECK(peppered.Check(CookieOf(old)).ok());
  CHECK(peppered.Delete("ann").value() == 2);
  CHECK(plain.Check(CookieOf(old)).status == CheckStatus::kUnknown);
  CHECK(plain.Check(CookieOf(fresh)).status == CheckStatus::kUnknown);
}

TEST_CASE("stateless: a revocation written under one pepper of the ring holds under the other") {
  jeff::test::MemoryFixture f;
  Options stateless;
  stateless.clock = f.options.clock;
  stateless.stateless.secrets = {std::string(32, 's')};
  stateless.stateless.denylist = f.store;
  Sessions old_ring(WithPeppers(stateless, "old", {"new"}));
  Sessions new_ring(WithPeppers(stateless, "new", {"old"}));
  for (Sessions* revoker : {&old_ring, &new_ring}) {
    const jeff::Issued issued = old_ring.Set("bob").value();
    const jeff::SessionId ids[] = {issued.session.id};
    REQUIRE(new_ring.Check(CookieOf(issued)).ok());
    CHECK(revoker->Delete("bob", ids).value() == 1);
    CHECK_FALSE(old_ring.Check(CookieOf(issued)).ok());
    CHECK_FALSE(new_ring.Check(CookieOf(issued)).ok());
  }
}
