// README's "Changing the pepper" block, extracted as written (so it cannot
// go stale): each rollout step it gives, run on one memory store with
// Sessions (support/pepper_flow.hpp), and what step 3 leaves behind.
#include <doctest/doctest.h>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <memory>
#include <string>

#include "readme_pepper_rotation.hpp"
#include "support/pepper_flow.hpp"

TEST_CASE("README: the pepper rotation's steps log nobody out") {
  const std::string old_pepper = "old secret", new_pepper = "new secret";
  jeff::Options base = jeff::test::RaceOptions(std::make_shared<jeff::MemoryStore>());
  jeff::Options options[4] = {base, base, base, base};
  options[0].pepper = old_pepper;
  for (int step = 1; step <= 3; ++step) UsePeppers(options[step], step, old_pepper, new_pepper);
  CHECK(options[2].pepper == new_pepper);
  CHECK(options[3].read_peppers.empty());
  jeff::Sessions before(options[0]), step1(options[1]), step2(options[2]), step3(options[3]);
  jeff::test::RunPepperRotationFlow(before, step1, step2, options[2].move_records);
  CHECK(options[2].move_records);
  CHECK_FALSE(options[3].move_records);

  // Step 2's logins move what they find under the old pepper: step 3 sees it.
  const jeff::Issued moved = before.Set("mover@example.com", "old").value();
  REQUIRE(step2.Set("mover@example.com", "new").ok());
  CHECK(step3.SessionsForKey("mover@example.com")->size() == 2);
  CHECK(step3.Check(jeff::test::CookieOf(moved)).ok());

  // Step 3 no longer reaches what the old pepper stored: why it waits.
  REQUIRE(before.Set("late@example.com", "old").ok());
  CHECK(step2.SessionsForKey("late@example.com")->size() == 1);
  CHECK(step3.SessionsForKey("late@example.com")->empty());
}
