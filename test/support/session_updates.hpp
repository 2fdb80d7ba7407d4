#pragma once
// Test support: the changes of one session after Set (UpdateMeta,
// Reauthenticated and authenticated_at) and a pepper rotation on a
// real store, for the per-store session suites. Call RunSessionUpdates from
// a TEST_CASE.

#include "support/pepper_flow.hpp"
#include "support/sessions_race.hpp"
#include "support/step_up_flow.hpp"
#include "support/update_meta_flow.hpp"

#include <jeff/sessions.hpp>

#include <memory>

namespace jeff::test {

inline void RunSessionUpdates(std::shared_ptr<Store> store) {
  Sessions sessions(RaceOptions(store));
  RunUpdateMetaFlow(sessions);
  RunUpdateMetaRace(sessions);
  ManualClock clock;
  Options stepped = RaceOptions(store);
  stepped.clock = clock.AsClock();
  Sessions step_up(stepped);
  RunStepUpFlow(step_up, clock, *store);
  RunPepperRotation(store);
}

}  // namespace jeff::test
