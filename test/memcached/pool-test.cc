// The libmemcached handle pool: exclusive handles, bounded waits.
#include <doctest/doctest.h>
#include <jeff/stores/memcached/detail/handle_pool.hpp>

#include <chrono>
#include <optional>
#include <thread>

using namespace std::chrono_literals;
using jeff::Errc;
using jeff::memcached_detail::HandlePool;
using jeff::memcached_detail::HandlePtr;

namespace {

HandlePtr Master() {
  HandlePtr master(memcached_create(nullptr));
  REQUIRE(master);
  REQUIRE(memcached_server_add(master.get(), "127.0.0.1", 11211) == MEMCACHED_SUCCESS);
  return master;
}

}  // namespace

TEST_CASE("leases are distinct clones, reused after release") {
  HandlePool pool(Master(), 2, 0ms);
  memcached_st* first = nullptr;
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->get() != b->get());
    CHECK(memcached_server_count(a->get()) == 1);
    first = a->get();
  }
  auto again = pool.Acquire();
  REQUIRE(again.ok());
  auto other = pool.Acquire();
  REQUIRE(other.ok());
  CHECK((again->get() == first || other->get() == first));
}

TEST_CASE("each handle keeps one reply buffer of its own, bound to it, across leases") {
  HandlePool pool(Master(), 2, 0ms);
  memcached_st* handle = nullptr;
  memcached_result_st* buffer = nullptr;
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(a->result() != nullptr);
    CHECK(a->result() != b->result());
    handle = a->get();
    buffer = a->result();
  }
  auto first = pool.Acquire();
  auto second = pool.Acquire();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  // Whichever lease got the handle got its buffer with it.
  const HandlePool::Lease& same = first->get() == handle ? *first : *second;
  CHECK(same.result() == buffer);
}

TEST_CASE("an exhausted pool fails with kStoreTimeout after its wait") {
  SUBCASE("no wait") {
    HandlePool pool(Master(), 1, 0ms);
    auto held = pool.Acquire();
    REQUIRE(held.ok());
    auto none = pool.Acquire();
    REQUIRE_FALSE(none.ok());
    CHECK(none.error() == Errc::kStoreTimeout);
  }
  SUBCASE("a sub-second wait is honoured") {
    HandlePool pool(Master(), 1, 150ms);
    auto held = pool.Acquire();
    REQUIRE(held.ok());
    const auto start = std::chrono::steady_clock::now();
    auto none = pool.Acquire();
    const auto waited = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(none.ok());
    CHECK(none.error() == Errc::kStoreTimeout);
    CHECK(waited >= 150ms);
    CHECK(waited < 2s);
  }
}

TEST_CASE("a waiter gets the handle another thread releases") {
  HandlePool pool(Master(), 1, 5s);
  std::optional<HandlePool::Lease> held;
  held.emplace(std::move(pool.Acquire().value()));
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    held.reset();
  });
  auto got = pool.Acquire();
  releaser.join();
  CHECK(got.ok());
}
