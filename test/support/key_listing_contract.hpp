#pragma once
// The KeyListing contract, run unchanged against every store that lists
// keys (memory, Redis, PostgreSQL): every live key with the prefix, each
// page at most the hint, glob characters in the prefix taken literally,
// a visitor's error stops the listing, a page of 0 is refused.

#include <doctest/doctest.h>
#include <jeff/error.hpp>
#include <jeff/key_listing.hpp>
#include <jeff/store.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace jeff::test {

/// Runs the contract on `store` (which must also be a KeyListing), under
/// keys that start with `unique` (fresh per call: the store may be shared).
inline void RunKeyListingContract(Store& store, const std::string& unique) {
  auto* listing = dynamic_cast<KeyListing*>(&store);
  REQUIRE(listing != nullptr);
  const std::string prefix = unique + "kl:";
  // Glob characters of Redis' SCAN MATCH, which must not act as such.
  const std::string glob = unique + "kl*[a]?\\:";
  std::set<std::string> in_prefix;
  for (int i = 0; i < 7; ++i) in_prefix.insert(prefix + "key" + std::to_string(i));
  const std::set<std::string> in_glob = {glob + "x"};
  const std::vector<std::string> outside = {unique + "kl", unique + "k:", unique + "other:key", unique + "klx:key",
                                            unique + "kla:key"};
  std::vector<std::string> all(in_prefix.begin(), in_prefix.end());
  all.insert(all.end(), in_glob.begin(), in_glob.end());
  all.insert(all.end(), outside.begin(), outside.end());
  for (const std::string& key : all) REQUIRE(store.CompareAndSwap(key, std::nullopt, "v", std::chrono::minutes(10)).value());
  REQUIRE(store.CompareAndSwap(prefix + "gone", std::nullopt, "v", std::chrono::minutes(10)).value());
  REQUIRE(store.Erase(prefix + "gone"));

  const auto list = [&](const std::string& p, std::size_t page) {
    std::set<std::string> seen;
    const Result<void> listed = listing->ListKeys(p, page, [&](std::span<const std::string> keys) -> Result<void> {
      CHECK(!keys.empty());
      CHECK(keys.size() <= std::max<std::size_t>(page, 10));  // SCAN's COUNT is a hint
      seen.insert(keys.begin(), keys.end());
      return {};
    });
    CHECK(listed);
    return seen;
  };
  for (const std::size_t page : {std::size_t{1}, std::size_t{2}, std::size_t{1000}}) {
    CAPTURE(page);
    CHECK(list(prefix, page) == in_prefix);
    CHECK(list(glob, page) == in_glob);
  }
  std::set<std::string> everything = list(unique, 3);
  CHECK(everything == std::set<std::string>(all.begin(), all.end()));

  // A visitor's error ends the listing and comes back.
  int calls = 0;
  const Result<void> stopped = listing->ListKeys(prefix, 1, [&](std::span<const std::string>) -> Result<void> {
    ++calls;
    return Errc::kConflict;
  });
  CHECK(stopped.error() == Errc::kConflict);
  CHECK(calls == 1);
  CHECK(listing->ListKeys(prefix, 0, [](std::span<const std::string>) -> Result<void> { return {}; }).error() ==
        Errc::kInvalidArgument);
  for (const std::string& key : all) REQUIRE(store.Erase(key));
}

}  // namespace jeff::test
