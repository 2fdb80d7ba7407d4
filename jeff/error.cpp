#include <jeff/error.hpp>

namespace jeff {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "jeff"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kStoreUnavailable: return "session store unavailable";
      case Errc::kStoreTimeout: return "session store timed out";
      case Errc::kStoreProtocol: return "session store protocol error";
      case Errc::kStoreCorrupt: return "session record is corrupt";
      case Errc::kValueTooLarge: return "session record too large for the store";
      case Errc::kConflict: return "too many concurrent updates of one session list";
      case Errc::kInvalidArgument: return "invalid argument";
      case Errc::kSessionNotFound: return "session not found";
      case Errc::kUnsupported: return "operation not supported by this session strategy";
      case Errc::kCrypto: return "cryptographic failure";
    }
    return "unknown jeff error";
  }
};

}  // namespace

const std::error_category& ErrorCategory() noexcept {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), ErrorCategory()};
}

bool IsStoreError(std::error_code ec) noexcept {
  if (ec.category() != ErrorCategory()) return false;
  switch (static_cast<Errc>(ec.value())) {
    case Errc::kStoreUnavailable:
    case Errc::kStoreTimeout:
    case Errc::kStoreProtocol:
    case Errc::kStoreCorrupt:
    case Errc::kValueTooLarge:
    case Errc::kConflict:
      return true;
    default:
      return false;
  }
}

}  // namespace jeff
