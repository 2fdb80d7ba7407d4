// Options::read_peppers with AsyncSessions on the memory store: the same
// rollout steps as Sessions (support/pepper_flow.hpp).
#include <doctest/doctest.h>
#include <jeff/async_sessions.hpp>

#include "support/blocking_async.hpp"
#include "support/memory_fixture.hpp"
#include "support/pepper_flow.hpp"

TEST_CASE("AsyncSessions: a pepper rotation logs nobody out, every rollout step on one store") {
  // Step 2 as it was first built (records stay), and with move_records.
  for (const bool moves : {false, true}) {
    CAPTURE(moves);
    jeff::test::MemoryFixture f;
    f.options.store = nullptr;
    boost::asio::io_context ioc;
    using jeff::test::WithPeppers;
    jeff::Options step2_options = WithPeppers(f.options, jeff::test::kNewPepper, {jeff::test::kOldPepper});
    step2_options.move_records = moves;
    jeff::AsyncSessions before(WithPeppers(f.options, jeff::test::kOldPepper, {}), f.store, ioc.get_executor());
    jeff::AsyncSessions step1(WithPeppers(f.options, jeff::test::kOldPepper, {jeff::test::kNewPepper}), f.store,
                              ioc.get_executor());
    jeff::AsyncSessions step2(step2_options, f.store, ioc.get_executor());
    jeff::test::BlockingAsync a(before, ioc), b(step1, ioc), c(step2, ioc);
    jeff::test::RunPepperRotationFlow(a, b, c, moves);
  }
}
