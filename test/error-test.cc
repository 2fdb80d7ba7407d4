#include <jeff/error.hpp>
#include <jeff/result.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <thread>

namespace {

using jeff::Errc;

constexpr Errc kAll[] = {
    Errc::kStoreUnavailable, Errc::kStoreTimeout, Errc::kStoreProtocol,   Errc::kStoreCorrupt,
    Errc::kValueTooLarge,    Errc::kConflict,     Errc::kInvalidArgument, Errc::kSessionNotFound,
    Errc::kUnsupported,      Errc::kCrypto,       Errc::kStoreRefused,    Errc::kRecordKeyUnknown,
};

}  // namespace

TEST_CASE("the jeff error category") {
  CHECK(std::string(jeff::ErrorCategory().name()) == "jeff");
  CHECK(&jeff::ErrorCategory() == &jeff::ErrorCategory());

  std::set<std::string> messages;
  for (Errc e : kAll) {
    const std::error_code ec = jeff::make_error_code(e);
    CAPTURE(ec.value());
    CHECK(ec);  // never the success value
    CHECK(ec.category() == jeff::ErrorCategory());
    CHECK(ec.value() == static_cast<int>(e));
    CHECK_FALSE(ec.message().empty());
    CHECK(messages.insert(ec.message()).second);  // each code says something different
  }
  CHECK(jeff::make_error_code(Errc::kStoreCorrupt).message() == "session record is corrupt");
  CHECK(jeff::ErrorCategory().message(0) == "unknown jeff error");
  CHECK(jeff::ErrorCategory().message(12345) == "unknown jeff error");
}

TEST_CASE("Errc converts implicitly and compares with error codes") {
  const std::error_code ec = Errc::kStoreTimeout;
  CHECK(ec == Errc::kStoreTimeout);
  CHECK(ec != Errc::kStoreUnavailable);
  CHECK(ec != std::errc::timed_out);  // a different category, even for a similar meaning
  const std::system_error error(Errc::kCrypto);
  CHECK(error.code() == Errc::kCrypto);
  CHECK(std::string(error.what()).find("cryptographic failure") != std::string::npos);
}

TEST_CASE("IsStoreError") {
  CHECK(jeff::IsStoreError(Errc::kStoreUnavailable));
  CHECK(jeff::IsStoreError(Errc::kStoreTimeout));
  CHECK(jeff::IsStoreError(Errc::kStoreProtocol));
  CHECK(jeff::IsStoreError(Errc::kStoreCorrupt));
  CHECK(jeff::IsStoreError(Errc::kValueTooLarge));
  CHECK(jeff::IsStoreError(Errc::kConflict));
  CHECK(jeff::IsStoreError(Errc::kStoreRefused));
  CHECK(jeff::IsStoreError(Errc::kRecordKeyUnknown));  // 503: put the key back, never a grant
  CHECK_FALSE(jeff::IsStoreError(Errc::kInvalidArgument));
  CHECK_FALSE(jeff::IsStoreError(Errc::kSessionNotFound));
  CHECK_FALSE(jeff::IsStoreError(Errc::kUnsupported));
  CHECK_FALSE(jeff::IsStoreError(Errc::kCrypto));
  CHECK_FALSE(jeff::IsStoreError(std::error_code{}));
  // Same numeric value, other category: not jeff's store error.
  CHECK_FALSE(jeff::IsStoreError(
      std::error_code(static_cast<int>(Errc::kStoreTimeout), std::generic_category())));
  CHECK_FALSE(jeff::IsStoreError(std::make_error_code(std::errc::connection_refused)));
  CHECK_FALSE(jeff::IsStoreError(std::error_code(999, jeff::ErrorCategory())));
}

TEST_CASE("a refusal is its own code, not an outage") {
  CHECK(std::error_code(Errc::kStoreRefused) != Errc::kStoreUnavailable);
  CHECK(std::error_code(Errc::kStoreRefused).message() == "session store refused the request");
  // Appended: the values of the older codes do not move.
  CHECK(static_cast<int>(Errc::kStoreRefused) == static_cast<int>(Errc::kCrypto) + 1);
  CHECK(static_cast<int>(Errc::kRecordKeyUnknown) == static_cast<int>(Errc::kStoreRefused) + 1);
}

TEST_CASE("a failure's reason is kept on its thread, for that code only") {
  jeff::ClearErrorDetail();
  CHECK(jeff::ErrorDetail(Errc::kStoreRefused) == "");
  CHECK(jeff::DescribeError(Errc::kStoreRefused) == "session store refused the request");

  const std::error_code noted = jeff::NoteError(Errc::kStoreRefused, "h:1: AUTH: WRONGPASS bad pair");
  CHECK(noted == Errc::kStoreRefused);
  CHECK(jeff::ErrorDetail(Errc::kStoreRefused) == "h:1: AUTH: WRONGPASS bad pair");
  CHECK(jeff::DescribeError(Errc::kStoreRefused) ==
        "session store refused the request: h:1: AUTH: WRONGPASS bad pair");
  // Another code, or no error at all, has no reason from it.
  CHECK(jeff::ErrorDetail(Errc::kStoreUnavailable) == "");
  CHECK(jeff::DescribeError(Errc::kStoreTimeout) == "session store timed out");
  CHECK(jeff::ErrorDetail(std::error_code{}) == "");

  // Per thread: another thread sees none, and its own note stays its own.
  std::string elsewhere = "unset";
  std::thread([&] {
    elsewhere = jeff::ErrorDetail(Errc::kStoreRefused);
    jeff::NoteError(Errc::kStoreRefused, "other thread");
  }).join();
  CHECK(elsewhere == "");
  CHECK(jeff::ErrorDetail(Errc::kStoreRefused) == "h:1: AUTH: WRONGPASS bad pair");

  // A call that starts forgets the last one's reason.
  jeff::ClearErrorDetail();
  CHECK(jeff::ErrorDetail(Errc::kStoreRefused) == "");
  jeff::NoteError(Errc::kStoreUnavailable, "a");
  jeff::NoteError(Errc::kStoreUnavailable, "b");
  CHECK(jeff::ErrorDetail(Errc::kStoreUnavailable) == "b");
}

TEST_CASE("Result<T>") {
  SUBCASE("a value") {
    jeff::Result<std::string> r = std::string("session");
    CHECK(r.ok());
    CHECK(static_cast<bool>(r));
    CHECK_FALSE(r.error());
    CHECK(r.value() == "session");
    CHECK(*r == "session");
    CHECK(r->size() == 7);
    r->append("!");
    CHECK(*r == "session!");
    const std::string moved = std::move(r).value();
    CHECK(moved == "session!");
  }
  SUBCASE("an error") {
    const jeff::Result<int> r = Errc::kStoreUnavailable;
    CHECK_FALSE(r.ok());
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(r.error() == Errc::kStoreUnavailable);
    CHECK_THROWS_AS((void)r.value(), std::system_error);
    try {
      (void)*r;
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == Errc::kStoreUnavailable);
    }
    const jeff::Result<int> other = std::make_error_code(std::errc::timed_out);
    CHECK(other.error() == std::errc::timed_out);
  }
  SUBCASE("move-only values") {
    jeff::Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
    REQUIRE(r.ok());
    CHECK(**r == 7);
    std::unique_ptr<int> owned = std::move(r).value();
    CHECK(*owned == 7);
  }
}

TEST_CASE("Result<void>") {
  const jeff::Result<void> ok;
  CHECK(ok.ok());
  CHECK_FALSE(ok.error());
  CHECK_NOTHROW(ok.value());

  const jeff::Result<void> failed = Errc::kConflict;
  CHECK_FALSE(failed.ok());
  CHECK(failed.error() == Errc::kConflict);
  CHECK_THROWS_AS(failed.value(), std::system_error);

  const jeff::Result<void> from_success_code = std::error_code{};
  CHECK(from_success_code.ok());
}
