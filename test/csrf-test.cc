#include <doctest/doctest.h>
#include <jeff/csrf.hpp>

#include <string>
#include <vector>

using jeff::CheckOrigin;
using jeff::CsrfVerdict;

TEST_CASE("safe methods are always allowed") {
  const std::vector<std::string> allowed = {"https://app.example"};
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    CHECK(CheckOrigin(m, "https://evil.example", "cross-site", allowed) == CsrfVerdict::kAllowed);
  }
  CHECK(jeff::IsSafeMethod("GET"));
  CHECK_FALSE(jeff::IsSafeMethod("get"));  // methods are case-sensitive
  CHECK_FALSE(jeff::IsSafeMethod("POST"));
}

TEST_CASE("unsafe methods need an allowed Origin or a same-origin fetch") {
  const std::vector<std::string> allowed = {"https://app.example", "http://127.0.0.1:8080"};
  CHECK(CheckOrigin("POST", "https://app.example", "", allowed) == CsrfVerdict::kAllowed);
  CHECK(CheckOrigin("POST", "HTTPS://APP.EXAMPLE", "", allowed) == CsrfVerdict::kAllowed);
  CHECK(CheckOrigin("DELETE", "http://127.0.0.1:8080", "same-origin", allowed) == CsrfVerdict::kAllowed);
  CHECK(CheckOrigin("POST", "https://app.example.evil", "", allowed) == CsrfVerdict::kCrossOrigin);
  CHECK(CheckOrigin("POST", "https://sub.app.example", "same-site", allowed) == CsrfVerdict::kCrossOrigin);
  CHECK(CheckOrigin("POST", "null", "", allowed) == CsrfVerdict::kCrossOrigin);
  CHECK(CheckOrigin("POST", "http://127.0.0.1:8081", "", allowed) == CsrfVerdict::kCrossOrigin);
  CHECK(CheckOrigin("POST", "", "same-origin", allowed) == CsrfVerdict::kAllowed);
  CHECK(CheckOrigin("POST", "", "none", allowed) == CsrfVerdict::kAllowed);
  CHECK(CheckOrigin("POST", "", "cross-site", allowed) == CsrfVerdict::kCrossOrigin);
  CHECK(CheckOrigin("POST", "", "", allowed) == CsrfVerdict::kMissingOrigin);
  CHECK(CheckOrigin("PUT", "https://app.example", "", {}) == CsrfVerdict::kCrossOrigin);
}
