// The Sessions-level race suite (no lost login, no resurrected session) on
// one real memcached and on a pair.
#include <doctest/doctest.h>

#include "memcached/memcached_support.hpp"
#include "support/sessions_race.hpp"

namespace jeff::test {
namespace {

struct Logging final : Store {
  std::shared_ptr<Store> s;
  explicit Logging(std::shared_ptr<Store> x) : s(std::move(x)) {}
  Result<std::optional<Versioned>> Fetch(std::string_view k) override {
    auto r = s->Fetch(k);
    if (!r.ok()) fprintf(stderr, "FETCH ERR %s\n", r.error().message().c_str());
    return r;
  }
  Result<bool> CompareAndSwap(std::string_view k, std::optional<Version> e, std::string_view v,
                              std::chrono::milliseconds t) override {
    auto r = s->CompareAndSwap(k, e, v, t);
    if (!r.ok()) fprintf(stderr, "CAS ERR %s size %zu\n", r.error().message().c_str(), v.size());
    return r;
  }
  Result<void> Erase(std::string_view k) override { return s->Erase(k); }
};

const ServerProcess& Server(int i) {
  static const std::unique_ptr<ServerProcess> servers[] = {StartMemcached(), StartMemcached()};
  return *servers[i];
}

TEST_CASE("sessions races on one memcached") {
  RaceHarness h;
  h.store = std::make_shared<Logging>(std::make_shared<MemcachedStore>(TestOptions({&Server(0)})));
  RunSessionsRaces(h);
}

TEST_CASE("sessions races on a pair of memcached servers") {
  RaceHarness h;
  h.store = std::make_shared<MemcachedStore>(TestOptions({&Server(0), &Server(1)}));
  RunSessionsRaces(h);
}

}  // namespace
}  // namespace jeff::test
