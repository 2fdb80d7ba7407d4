// Options::move_records on the memory store: records move from an old
// pepper's key id to the newest one (freeze, then absorb once), and every
// rule of docs/design.md "Moving records to the newest key id" holds when a
// mover stops between its steps. The engine's operations are driven here
// step by step so that a test can pause a mover where a crash or a slow
// server would leave it.
#include <doctest/doctest.h>
#include <jeff/detail/record.hpp>
#include <jeff/engine/stateful_ops.hpp>
#include <jeff/sessions.hpp>

#include "support/cookies.hpp"
#include "support/memory_fixture.hpp"
#include "support/pepper_flow.hpp"
#include "support/replicated_store.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <thread>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

using jeff::CheckStatus;
using jeff::Issued;
using jeff::Options;
using jeff::Record;
using jeff::Sessions;
using jeff::SessionId;
using jeff::engine::Step;
using jeff::test::CookieOf;
using jeff::test::WithPeppers;

namespace {

constexpr const char* kKey = "moving@example.com";

// The fleet in step 2 of a rotation, on one memory store: step-1 servers
// (old pepper, new read), movers (new pepper, old read, move_records) and
// step-3 servers (new pepper alone).
struct Fleet {
  jeff::test::MemoryFixture f;
  Options old_ring = WithPeppers(f.options, "old", {"new"});
  Options new_ring = [this] {
    Options o = WithPeppers(f.options, "new", {"old"});
    o.move_records = true;
    return o;
  }();
  Options new_only = WithPeppers(f.options, "new", {});
  Sessions step1{old_ring}, mover{new_ring}, step3{new_only};

  std::string StoreKey(const char* pepper) const { return f.options.key_prefix + jeff::KeyId(kKey, pepper); }
  // The record under `pepper`'s key id, std::nullopt when absent.
  std::optional<Record> RecordUnder(const char* pepper) {
    auto fetched = f.store->Fetch(StoreKey(pepper));
    REQUIRE(fetched.ok());
    if (!fetched->has_value()) return std::nullopt;
    auto record = jeff::DecodeRecord((*fetched)->value);
    REQUIRE(record.ok());
    return *record;
  }
  std::size_t Listed(Sessions& s) {
    auto list = s.SessionsForKey(kKey);
    REQUIRE(list.ok());
    std::set<SessionId> ids;
    for (const jeff::Session& one : *list) ids.insert(one.id);
    CHECK(ids.size() == list->size());
    return list->size();
  }
};

// Performs `step` of `op` on the memory store and returns the next one;
// `swapped` counts the compare-and-swaps that succeeded.
template <typename Op>
Step Perform(Op& op, const Step& step, Fleet& fleet, int& swapped) {
  jeff::Store& store = *fleet.f.store;
  switch (step.kind) {
    case Step::Kind::kFetch: return op.OnFetched(store.FetchInto(step.key, op.buffer()), fleet.f.clock.Now());
    case Step::Kind::kSwap: {
      auto result = store.CompareAndSwap(step.key, step.expected, step.value, step.ttl);
      if (result.ok() && *result) ++swapped;
      return op.OnSwapped(std::move(result));
    }
    case Step::Kind::kErase: return op.OnErased(store.Erase(step.key));
    case Step::Kind::kWait: return op.OnWaited();
    case Step::Kind::kDone: break;
  }
  return step;
}

// Runs `op` from `step` while `go_on(next step, swaps so far)` says so;
// returns the step it paused before (kDone when it finished).
template <typename Op>
Step RunWhile(Op& op, Step step, Fleet& fleet, const std::function<bool(const Step&, int)>& go_on) {
  int swapped = 0;
  while (!step.done() && go_on(step, swapped)) step = Perform(op, step, fleet, swapped);
  return step;
}

// Pauses right after the first successful compare-and-swap (a move's freeze).
bool BeforeSecondWrite(const Step&, int swapped) { return swapped < 1; }
// Pauses before the second compare-and-swap (a move's absorb), its read done.
bool BeforeAbsorbSwap(const Step& next, int swapped) {
  return !(swapped == 1 && next.kind == Step::Kind::kSwap);
}
bool ToTheEnd(const Step&, int) { return true; }

// Two step-1 logins, then a mover's Set that "crashes" right after it froze
// their record (its target not written yet).
std::pair<Issued, Issued> TwoLoginsThenStoppedMover(Fleet& fleet) {
  const Issued a = fleet.step1.Set(kKey, "a").value();
  const Issued b = fleet.step1.Set(kKey, "b").value();
  jeff::engine::SetOp stopped(fleet.new_ring, kKey, "c", std::nullopt, fleet.f.clock.Now());
  (void)RunWhile(stopped, stopped.Start(), fleet, BeforeSecondWrite);
  REQUIRE(fleet.RecordUnder("old")->moved_to);
  CHECK_FALSE(fleet.RecordUnder("new"));
  return {a, b};
}

}  // namespace

TEST_CASE("a mover's Set moves the old record: sessions end under the new key id, old cookies still check") {
  Fleet fleet;
  const Issued a = fleet.step1.Set(kKey, "a").value();
  const Issued b = fleet.step1.Set(kKey, "b").value();
  const Issued c = fleet.mover.Set(kKey, "c").value();

  const auto old_record = fleet.RecordUnder("old");
  REQUIRE(old_record);
  REQUIRE(old_record->moved_to);
  CHECK(old_record->moved_to->kid == jeff::KeyId(kKey, "new"));
  const auto new_record = fleet.RecordUnder("new");
  REQUIRE(new_record);
  REQUIRE(new_record->sessions.size() == 3);
  CHECK(new_record->sessions[0].origin);  // the copies first, tagged
  CHECK(new_record->sessions[1].origin);
  CHECK_FALSE(new_record->sessions[2].origin);
  REQUIRE(new_record->absorbed.size() == 1);
  CHECK(new_record->absorbed[0].move_id == old_record->moved_to->move_id);

  for (Sessions* s : {&fleet.step1, &fleet.mover, &fleet.step3}) {
    for (const Issued* issued : {&a, &b, &c}) CHECK(s->Check(CookieOf(*issued)).ok());
    CHECK(fleet.Listed(*s) == 3);
  }
  // A step-1 server's Set now goes where the record moved, and says so.
  const Issued d = fleet.step1.Set(kKey, "d").value();
  CHECK(d.token.substr(0, 22) == jeff::KeyId(kKey, "new"));
  CHECK(fleet.RecordUnder("new")->sessions.size() == 4);
  CHECK(fleet.Listed(fleet.step3) == 4);
  // Revoking through any ring is final for copies too.
  const SessionId ids[] = {a.session.id};
  CHECK(fleet.step1.Delete(kKey, ids).value() == 1);
  for (Sessions* s : {&fleet.step1, &fleet.mover, &fleet.step3}) {
    CHECK(s->Check(CookieOf(a)).status == CheckStatus::kUnknown);
    CHECK(fleet.Listed(*s) == 3);
  }
  // Rotate through an old cookie rotates the copy.
  const Issued rotated = fleet.step3.Rotate(CookieOf(b)).value();
  CHECK(fleet.step3.Check(CookieOf(rotated)).ok());
  CHECK(fleet.step1.Check(CookieOf(b)).status == CheckStatus::kUnknown);
  // Delete(key) through the new pepper alone reaches the origin too.
  CHECK(fleet.step3.Delete(kKey).value() == 3);
  CHECK_FALSE(fleet.RecordUnder("old"));
  CHECK_FALSE(fleet.RecordUnder("new"));
  CHECK(fleet.step1.Check(CookieOf(rotated)).status == CheckStatus::kUnknown);
}

TEST_CASE("without move_records nothing moves, and a record without live sessions is not frozen") {
  Fleet fleet;
  Options still = fleet.new_ring;
  still.move_records = false;
  Sessions quiet(still);
  (void)fleet.step1.Set(kKey, "a").value();
  (void)quiet.Set(kKey, "b").value();
  CHECK_FALSE(fleet.RecordUnder("old")->moved_to);
  CHECK(fleet.RecordUnder("new")->sessions.size() == 1);

  // Every session of the old record ended: the mover leaves it alone.
  fleet.f.clock.Advance(fleet.f.options.max_age + std::chrono::seconds(1));
  (void)fleet.mover.Set(kKey, "c").value();
  const auto old_record = fleet.RecordUnder("old");
  CHECK((!old_record || !old_record->moved_to));
}

TEST_CASE("a mover stopped after the freeze: the frozen content answers, and the next write absorbs it") {
  Fleet fleet;
  const auto [a, b] = TwoLoginsThenStoppedMover(fleet);

  for (Sessions* s : {&fleet.step1, &fleet.mover}) {
    CHECK(s->Check(CookieOf(a)).ok());
    CHECK(fleet.Listed(*s) == 2);
  }
  // A cookie names its record, so Check follows the freeze whatever the
  // ring; a by-key read through the new pepper alone finds nothing to follow
  // until the move is done (why step 3 waits for `jeffctl sessions rekey`).
  CHECK(fleet.step3.Check(CookieOf(a)).ok());
  CHECK(fleet.Listed(fleet.step3) == 0);
  // Delete(key, ids) through a step-1 ring helps the move along, then deletes in the target.
  const SessionId ids[] = {a.session.id};
  CHECK(fleet.step1.Delete(kKey, ids).value() == 1);
  const auto target = fleet.RecordUnder("new");
  REQUIRE(target);
  REQUIRE(target->sessions.size() == 1);
  CHECK(target->sessions[0].id == b.session.id);
  CHECK(fleet.step3.Check(CookieOf(a)).status == CheckStatus::kUnknown);
  CHECK(fleet.step3.Check(CookieOf(b)).ok());
}

TEST_CASE("a late absorb brings back nothing a Delete removed meanwhile") {
  Fleet fleet;
  const Issued a = fleet.step1.Set(kKey, "a").value();
  const Issued b = fleet.step1.Set(kKey, "b").value();

  SUBCASE("Delete(key, ids) between the freeze and a slow mover's absorb") {
    jeff::engine::SetOp slow(fleet.new_ring, kKey, "c", std::nullopt, fleet.f.clock.Now());
    const Step paused = RunWhile(slow, slow.Start(), fleet, BeforeAbsorbSwap);
    REQUIRE(paused.kind == Step::Kind::kSwap);
    const SessionId ids[] = {a.session.id};
    CHECK(fleet.mover.Delete(kKey, ids).value() == 1);  // absorbs first (another server's help)
    (void)RunWhile(slow, paused, fleet, ToTheEnd);        // its absorb loses, re-reads: already absorbed
    REQUIRE(slow.result().ok());
    CHECK(fleet.Listed(fleet.step3) == 2);  // b and the slow Set's own
    CHECK(fleet.step3.Check(CookieOf(a)).status == CheckStatus::kUnknown);
    CHECK(fleet.step3.Check(CookieOf(b)).ok());
    CHECK(fleet.step3.Check(CookieOf(*slow.result())).ok());
  }
  SUBCASE("Delete(key) through a step-1 ring before a slow mover's absorb lands") {
    jeff::engine::SetOp slow(fleet.new_ring, kKey, "c", std::nullopt, fleet.f.clock.Now());
    const Step paused = RunWhile(slow, slow.Start(), fleet, BeforeAbsorbSwap);
    REQUIRE(paused.kind == Step::Kind::kSwap);
    CHECK(fleet.step1.Delete(kKey).value() == 2);
    (void)RunWhile(slow, paused, fleet, ToTheEnd);  // lands its stale copies, then its login
    REQUIRE(slow.result().ok());
    for (Sessions* s : {&fleet.step1, &fleet.mover, &fleet.step3}) {
      CHECK(s->Check(CookieOf(a)).status == CheckStatus::kUnknown);
      CHECK(s->Check(CookieOf(b)).status == CheckStatus::kUnknown);
      CHECK(s->Check(CookieOf(*slow.result())).ok());  // committed after the revoke: survives
      CHECK(fleet.Listed(*s) == 1);
    }
  }
}

TEST_CASE("two movers at once make one move") {
  Fleet fleet;
  for (int i = 0; i < 3; ++i) (void)fleet.step1.Set(kKey, "old").value();
  jeff::engine::SetOp first(fleet.new_ring, kKey, "x", std::nullopt, fleet.f.clock.Now());
  jeff::engine::SetOp second(fleet.new_ring, kKey, "y", std::nullopt, fleet.f.clock.Now());
  // Both read the old record; the first freezes it, then the second's
  // freeze loses and it absorbs the first's move; the first then finds it
  // absorbed.
  const Step first_paused = RunWhile(first, first.Start(), fleet,
                                     [](const Step& next, int) { return next.kind != Step::Kind::kSwap; });
  const Step second_paused = RunWhile(second, second.Start(), fleet,
                                      [](const Step& next, int) { return next.kind != Step::Kind::kSwap; });
  const Step first_frozen = RunWhile(first, first_paused, fleet, BeforeSecondWrite);
  (void)RunWhile(second, second_paused, fleet, ToTheEnd);
  (void)RunWhile(first, first_frozen, fleet, ToTheEnd);
  REQUIRE(first.result().ok());
  REQUIRE(second.result().ok());
  const auto target = fleet.RecordUnder("new");
  REQUIRE(target);
  CHECK(target->sessions.size() == 5);
  CHECK(target->absorbed.size() == 1);
  CHECK(fleet.Listed(fleet.step3) == 5);
}

TEST_CASE("a copy whose origin is gone never checks nor lists, whatever key id the cookie names") {
  Fleet fleet;
  const Issued a = fleet.step1.Set(kKey, "a").value();
  jeff::engine::SetOp slow(fleet.new_ring, kKey, "c", std::nullopt, fleet.f.clock.Now());
  const Step paused = RunWhile(slow, slow.Start(), fleet, BeforeAbsorbSwap);
  CHECK(fleet.step1.Delete(kKey).value() == 1);
  (void)RunWhile(slow, paused, fleet, ToTheEnd);  // the stale copy of `a` lands in the target
  REQUIRE(fleet.RecordUnder("new")->sessions.size() == 2);
  // `a`'s token under the target's key id: the copy is found, its origin is not.
  std::string forged = CookieOf(a);
  const std::size_t at = forged.find('=') + 1;
  forged.replace(at, jeff::kKeyIdChars, jeff::KeyId(kKey, "new"));
  CHECK(fleet.step3.Check(forged).status == CheckStatus::kUnknown);
  CHECK(fleet.Listed(fleet.step3) == 1);
  CHECK(fleet.Listed(fleet.step1) == 1);
  // The origin's key id in use again (a step-1 login), but not frozen by that move.
  (void)fleet.step1.Set(kKey, "d").value();
  REQUIRE(fleet.RecordUnder("old"));
  CHECK(fleet.step3.Check(forged).status == CheckStatus::kUnknown);
  CHECK(fleet.Listed(fleet.step1) == 2);
}

TEST_CASE("Delete(key) erases an origin even when its target holds no copy any more") {
  Fleet fleet;
  const Issued a = fleet.step1.Set(kKey, "a").value();
  const Issued b = fleet.mover.Set(kKey, "b").value();
  const SessionId ids[] = {a.session.id};
  CHECK(fleet.step3.Delete(kKey, ids).value() == 1);  // the target keeps no copy, only the move
  CHECK(fleet.step3.Delete(kKey).value() == 1);
  CHECK_FALSE(fleet.RecordUnder("old"));
  // Had the frozen origin stayed, this step-1 login would absorb it again.
  (void)fleet.step1.Set(kKey, "c").value();
  CHECK(fleet.step1.Check(CookieOf(a)).status == CheckStatus::kUnknown);
  CHECK(fleet.step1.Check(CookieOf(b)).status == CheckStatus::kUnknown);
  CHECK(fleet.Listed(fleet.step1) == 1);
}

TEST_CASE("max_sessions_per_key counts the merged set: the oldest copies go") {
  Fleet fleet;
  fleet.old_ring.max_sessions_per_key = fleet.new_ring.max_sessions_per_key = 3;
  Sessions step1(fleet.old_ring), mover(fleet.new_ring);
  std::vector<Issued> old;
  for (int i = 0; i < 3; ++i) old.push_back(step1.Set(kKey, "old").value());
  const Issued fresh = mover.Set(kKey, "new").value();
  CHECK(fleet.Listed(fleet.step3) == 3);
  CHECK(fleet.step3.Check(CookieOf(old[0])).status == CheckStatus::kUnknown);
  CHECK(fleet.step3.Check(CookieOf(old[2])).ok());
  CHECK(fleet.step3.Check(CookieOf(fresh)).ok());

  // A move alone (no login) evicts too: the target's own sessions are newer.
  Options quiet_options = fleet.new_ring;
  quiet_options.move_records = false;
  Sessions quiet(quiet_options);
  const std::string other = "other@example.com";
  for (int i = 0; i < 3; ++i) (void)step1.Set(other, "old").value();
  std::vector<Issued> own;
  for (int i = 0; i < 3; ++i) own.push_back(quiet.Set(other, "new").value());
  const SessionId nobody[] = {SessionId{}};
  CHECK(mover.Delete(other, nobody).value() == 0);  // a write through the ring: moves
  auto list = fleet.step3.SessionsForKey(other);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 3);
  for (const Issued& issued : own) CHECK(fleet.step3.Check(CookieOf(issued)).ok());
}

TEST_CASE("the target remembers a move as long as its origin may exist") {
  Fleet fleet;
  const Issued a = fleet.step1.Set(kKey, "a").value();
  (void)fleet.mover.Set(kKey, "b").value();
  // Every session of the target revoked: it stays (no session, the move
  // remembered) until the origin's sessions would have ended.
  const auto listed = fleet.step3.SessionsForKey(kKey);
  REQUIRE(listed.ok());
  for (const jeff::Session& s : *listed) {
    const SessionId ids[] = {s.id};
    CHECK(fleet.step3.Delete(kKey, ids).value() == 1);
  }
  fleet.f.clock.Advance(std::chrono::hours(24));
  const auto target = fleet.RecordUnder("new");
  REQUIRE(target);
  CHECK(target->sessions.empty());
  CHECK(target->absorbed.size() == 1);
  // A second move attempt of the same frozen record copies nothing back.
  CHECK(fleet.step1.Rotate(CookieOf(a)).error() == jeff::Errc::kSessionNotFound);
  CHECK(fleet.Listed(fleet.step1) == 0);
}

TEST_CASE("moves work on sealed records (data at rest)") {
  Fleet fleet;
  jeff::AtRestKey key{1, std::string(jeff::kAtRestKeyBytes, 'k')};
  for (Options* o : {&fleet.old_ring, &fleet.new_ring, &fleet.new_only}) o->at_rest.keys = {key};
  Sessions step1(fleet.old_ring), mover(fleet.new_ring), step3(fleet.new_only);
  const Issued a = step1.Set(kKey, "a").value();
  (void)mover.Set(kKey, "b").value();
  CHECK(step3.Check(CookieOf(a)).ok());
  CHECK(step3.SessionsForKey(kKey)->size() == 2);
  CHECK(step3.Delete(kKey).value() == 2);
  CHECK(step1.Check(CookieOf(a)).status == CheckStatus::kUnknown);
}

TEST_CASE("on a store that waits for replicas, Delete(key) rewrites every record it read, moves included") {
  Fleet fleet;
  const auto [a, b] = TwoLoginsThenStoppedMover(fleet);

  Options ring = fleet.new_ring;
  ring.store = std::make_shared<jeff::test::ReplicatedStore>(fleet.f.store);
  Sessions replicated(ring);
  CHECK(replicated.Delete(kKey).value() == 2);
  // No erase: the frozen record stays as it was (nobody writes it); its
  // move was absorbed into the target, which was then emptied and written.
  const auto origin = fleet.RecordUnder("old");
  REQUIRE(origin);
  REQUIRE(origin->moved_to);
  CHECK(origin->sessions.size() == 2);
  const auto target = fleet.RecordUnder("new");
  REQUIRE(target);
  CHECK(target->sessions.empty());
  REQUIRE(target->absorbed.size() == 1);
  CHECK(target->absorbed[0].move_id == origin->moved_to->move_id);
  for (Sessions* s : {&fleet.step1, &fleet.mover, &fleet.step3, &replicated}) {
    CHECK(s->Check(CookieOf(a)).status == CheckStatus::kUnknown);
    CHECK(s->Check(CookieOf(b)).status == CheckStatus::kUnknown);
    CHECK(fleet.Listed(*s) == 0);
  }
  // A Delete(key) that finds nothing to remove still writes each record it
  // read (a new version), the frozen one excepted.
  const auto version = [&](const char* pepper) { return (*fleet.f.store->Fetch(fleet.StoreKey(pepper)))->version; };
  const jeff::Version old_before = version("old");
  const jeff::Version new_before = version("new");
  CHECK(replicated.Delete(kKey).value() == 0);
  CHECK(version("old") == old_before);
  CHECK(version("new") != new_before);
  CHECK(fleet.step1.Check(CookieOf(a)).status == CheckStatus::kUnknown);
}

namespace {

// Every store key of the fleet's prefix, moved with `sessions` (a mover's
// ring), as `jeffctl sessions rekey` does; the outcomes counted.
// (No doctest assertion: it also runs on a thread of its own.)
jeff::Result<std::map<jeff::MoveOutcome, int>> MoveAll(Fleet& fleet, Sessions& sessions) {
  std::map<jeff::MoveOutcome, int> outcomes;
  const jeff::Result<void> listed = (fleet.f.store->ListKeys(fleet.f.options.key_prefix, 2,
                                  [&](std::span<const std::string> keys) -> jeff::Result<void> {
                                    for (const std::string& key : keys) {
                                      auto outcome = sessions.MoveRecord(key);
                                      if (!outcome) return outcome.error();
                                      ++outcomes[*outcome];
                                    }
                                    return {};
                                  }));
  if (!listed) return listed.error();
  return outcomes;
}

}  // namespace

TEST_CASE("MoveRecord moves a record, finishes a stopped mover's move, reports a foreign one, and is idempotent") {
  Fleet fleet;
  // Not a mover's ring, or a key outside the prefix: refused without I/O.
  CHECK(fleet.step3.MoveRecord(fleet.StoreKey("old")).error() == jeff::Errc::kInvalidArgument);
  CHECK(fleet.mover.MoveRecord("elsewhere:" + jeff::KeyId(kKey, "old")).error() == jeff::Errc::kInvalidArgument);
  CHECK(fleet.mover.MoveRecord(fleet.StoreKey("old")).value() == jeff::MoveOutcome::kNone);  // absent

  const Issued a = fleet.step1.Set(kKey, "a").value();
  CHECK(fleet.mover.MoveRecord(fleet.StoreKey("old")).value() == jeff::MoveOutcome::kMoved);
  CHECK(fleet.RecordUnder("old")->moved_to);
  CHECK(fleet.Listed(fleet.step3) == 1);
  CHECK(fleet.step3.Check(CookieOf(a)).ok());
  // Again, and on the target: nothing to do.
  CHECK(fleet.mover.MoveRecord(fleet.StoreKey("old")).value() == jeff::MoveOutcome::kNone);
  CHECK(fleet.mover.MoveRecord(fleet.StoreKey("new")).value() == jeff::MoveOutcome::kNone);

  // A record of a pepper the ring does not know: left, and said so.
  Sessions stranger(WithPeppers(fleet.f.options, "stranger", {}));
  const Issued s = stranger.Set("stray@example.com").value();
  const std::string stray_key = fleet.f.options.key_prefix + jeff::KeyId("stray@example.com", "stranger");
  CHECK(fleet.mover.MoveRecord(stray_key).value() == jeff::MoveOutcome::kForeign);
  CHECK(stranger.Check(CookieOf(s)).ok());
}

TEST_CASE("MoveRecord finishes a move a mover stopped after its freeze; the mover then adds its session once") {
  Fleet fleet;
  const Issued a = fleet.step1.Set(kKey, "a").value();
  jeff::engine::SetOp slow(fleet.new_ring, kKey, "c", std::nullopt, fleet.f.clock.Now());
  const Step paused = RunWhile(slow, slow.Start(), fleet, BeforeSecondWrite);
  REQUIRE(fleet.RecordUnder("old")->moved_to);
  CHECK(fleet.mover.MoveRecord(fleet.StoreKey("old")).value() == jeff::MoveOutcome::kFinished);
  CHECK(fleet.Listed(fleet.step3) == 1);
  REQUIRE(RunWhile(slow, paused, fleet, ToTheEnd).done());
  REQUIRE(slow.result().ok());
  CHECK(fleet.Listed(fleet.step3) == 2);
  CHECK(fleet.step3.Check(CookieOf(a)).ok());
  CHECK(fleet.step3.Check(CookieOf(*slow.result())).ok());
}

TEST_CASE("rekey over every key while step-1 and step-2 servers log in loses no session") {
  Fleet fleet;
  constexpr int kThreads = 4, kLogins = 60, kUsers = 6;
  std::vector<std::vector<Issued>> issued(kThreads);
  std::atomic<bool> done{false};
  std::atomic<int> rekey_errors{0}, rekey_runs{0};
  std::thread rekey([&] {
    while (!done.load()) {
      rekey_errors += MoveAll(fleet, fleet.mover) ? 0 : 1;
      ++rekey_runs;
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      Sessions& server = t % 2 == 0 ? fleet.step1 : fleet.mover;
      for (int i = 0; i < kLogins; ++i) {
        auto set = server.Set("user" + std::to_string(i % kUsers) + "@example.com");
        if (set) issued[static_cast<std::size_t>(t)].push_back(*set);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done = true;
  rekey.join();
  CHECK(rekey_errors == 0);
  CHECK(rekey_runs > 0);
  // Step 1 is over: one last rekey, then the new pepper alone holds all.
  REQUIRE(MoveAll(fleet, fleet.mover));
  std::size_t total = 0;
  for (const auto& list : issued) {
    total += list.size();
    for (const Issued& i : list) CHECK(fleet.step3.Check(CookieOf(i)).ok());
  }
  CHECK(total == kThreads * kLogins);
  std::size_t listed = 0;
  for (int u = 0; u < kUsers; ++u) listed += fleet.step3.SessionsForKey("user" + std::to_string(u) + "@example.com")->size();
  CHECK(listed == total);
  const auto again = MoveAll(fleet, fleet.mover).value();
  CHECK(again.count(jeff::MoveOutcome::kMoved) == 0);
  CHECK(again.count(jeff::MoveOutcome::kFinished) == 0);
}
