#pragma once
// Test support: a pepper rotation (Options::read_peppers), the servers of a
// fleet at each step of the rollout sharing one store: before (old pepper
// only), step 1 (old pepper, new one read), step 2 (new pepper, old one
// read). RunPepperRotationFlow takes one API object per step (Sessions, or
// BlockingAsync over AsyncSessions); RunPepperRotation makes Sessions on a
// store. Call either from a TEST_CASE.

#include "support/cookies.hpp"
#include "support/sessions_race.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace jeff::test {

// `moves`: step 2 runs with Options::move_records (its login moves the
// old record, which every server then follows).
template <typename Api>
void RunPepperRotationFlow(Api& before, Api& step1, Api& step2, bool moves = false) {
  const std::string key = "rotated@example.com";

  const Issued a = before.Set(key, "a").value();
  CHECK(step2.Check(CookieOf(a)).ok());  // the cookie names its record, whatever the pepper
  const Issued b = step2.Set(key, "b").value();
  CHECK(b.token.substr(0, 22) != a.token.substr(0, 22));  // stored under the new pepper's kid
  CHECK(before.Check(CookieOf(b)).ok());
  for (Api* s : {&step1, &step2}) {
    auto list = s->SessionsForKey(key);
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    // Oldest first across both records (created in one millisecond: either order).
    CHECK((*list)[0].created <= (*list)[1].created);
    CHECK((*list)[0].id != (*list)[1].id);
    for (const Session& s : *list) CHECK((s.id == a.session.id || s.id == b.session.id));
  }
  // Why step 1 comes first: without moves a server that knows only the old
  // pepper sees only its own (a moved record it follows to the new one).
  CHECK(before.SessionsForKey(key)->size() == (moves ? 2u : 1u));

  // UpdateMeta by id finds the session under either key id.
  CHECK(step2.UpdateMeta(key, a.session.id, "a2").value().meta == "a2");
  CHECK(step1.UpdateMeta(key, b.session.id, "b2").value().meta == "b2");
  CHECK(step2.Check(CookieOf(a)).session.meta == "a2");
  CHECK(step2.UpdateMeta(key, NewSessionId(), "x").error() == Errc::kSessionNotFound);

  // Delete(key, ids) and Delete(key) reach both records.
  const SessionId ids[] = {a.session.id, b.session.id};
  CHECK(step1.Delete(key, std::span<const SessionId>(ids)).value() == 2);
  CHECK(step2.Check(CookieOf(a)).status == CheckStatus::kUnknown);
  CHECK(step2.Check(CookieOf(b)).status == CheckStatus::kUnknown);
  const Issued c = step1.Set(key, "c").value();
  const Issued d = step2.Set(key, "d").value();
  CHECK(step2.Delete(key).value() == 2);
  CHECK(step1.Check(CookieOf(c)).status == CheckStatus::kUnknown);
  CHECK(step1.Check(CookieOf(d)).status == CheckStatus::kUnknown);
  CHECK(step1.SessionsForKey(key)->empty());
}

inline void RunPepperRotation(std::shared_ptr<Store> store) {
  const Options base = RaceOptions(std::move(store));
  Sessions before(WithPeppers(base, kOldPepper, {}));
  Sessions step1(WithPeppers(base, kOldPepper, {kNewPepper}));
  Sessions step2(WithPeppers(base, kNewPepper, {kOldPepper}));
  RunPepperRotationFlow(before, step1, step2);
}

}  // namespace jeff::test
