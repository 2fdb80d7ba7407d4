#pragma once
// Test support: stateful sessions as bearer tokens (Issued::token,
// CheckBearer), run through either driver (Sessions, or AsyncSessions
// behind BlockingAsync). Keys are unique per call.

#include "support/cookies.hpp"

#include <doctest/doctest.h>
#include <jeff/sessions.hpp>

#include <random>
#include <string>

namespace jeff::test {

template <typename Api>
void RunBearerFlow(Api& api) {
  const std::string key = "bearer" + std::to_string(std::random_device{}()) + "@example.com";
  auto issued = api.Set(key, "cli");
  REQUIRE(issued.ok());
  // The token is the cookie's value, for a client without a cookie jar.
  CHECK(CookieOf(*issued) == api.options().cookie.name + "=" + issued->token);

  auto checked = api.CheckBearer("Bearer " + issued->token);
  REQUIRE(checked.ok());
  CHECK(checked.session.key == key);
  CHECK(checked.session.id == issued->session.id);
  CHECK(api.CheckBearer("bearer\t" + issued->token + " ").ok());  // scheme case-insensitive

  CHECK(api.CheckBearer("").status == CheckStatus::kAbsent);
  CHECK(api.CheckBearer("Basic dXNlcjpwYXNz").status == CheckStatus::kAbsent);
  CHECK(api.CheckBearer("Bearer").status == CheckStatus::kAbsent);
  CHECK(api.CheckBearer("Bearer x").status == CheckStatus::kMalformed);
  // No second cookie smuggled in through the header.
  CHECK(api.CheckBearer("Bearer x; " + CookieOf(*issued)).status == CheckStatus::kMalformed);
  std::string forged = issued->token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  CHECK(api.CheckBearer("Bearer " + forged).status != CheckStatus::kOk);

  // Rotate hands out a new token; the old one dies.
  auto rotated = api.Rotate(CookieOf(*issued));
  REQUIRE(rotated.ok());
  CHECK(api.CheckBearer("Bearer " + issued->token).status == CheckStatus::kUnknown);
  CHECK(api.CheckBearer("Bearer " + rotated->token).ok());
  REQUIRE(api.Clear(CookieOf(*rotated)).ok());
  CHECK(api.CheckBearer("Bearer " + rotated->token).status == CheckStatus::kUnknown);
}

}  // namespace jeff::test
