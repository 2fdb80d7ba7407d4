#pragma once
// Test support: Options on a MemoryStore, both driven by one ManualClock.

#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <memory>

namespace jeff::test {

struct MemoryFixture {
  ManualClock clock;
  std::shared_ptr<MemoryStore> store;
  Options options;  // options.store and options.clock set

  MemoryFixture() {
    MemoryStoreOptions mo;
    mo.clock = clock.AsClock();
    store = std::make_shared<MemoryStore>(mo);
    options.store = store;
    options.clock = clock.AsClock();
  }
};

}  // namespace jeff::test
