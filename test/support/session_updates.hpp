#pragma once
// Test support: the changes of one session after Set (UpdateMeta, ...) on a
// real store, for the per-store session suites. Call RunSessionUpdates from
// a TEST_CASE.

#include "support/sessions_race.hpp"
#include "support/update_meta_flow.hpp"

#include <jeff/sessions.hpp>

#include <memory>

namespace jeff::test {

inline void RunSessionUpdates(std::shared_ptr<Store> store) {
  Sessions sessions(RaceOptions(std::move(store)));
  RunUpdateMetaFlow(sessions);
  RunUpdateMetaRace(sessions);
}

}  // namespace jeff::test
