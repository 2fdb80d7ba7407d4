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
      case Errc::kStoreRefused: return "session store refused the request";
      case Errc::kRecordKeyUnknown: return "session record sealed with a key not in the at-rest key ring";
    }
    return "unknown jeff error";
  }
};

// This thread's reason for its last failure (see ErrorDetail).
struct Detail {
  std::error_code code;
  std::string text;
};
thread_local Detail t_detail;

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
    case Errc::kStoreRefused:
    case Errc::kRecordKeyUnknown:
      return true;
    default:
      return false;
  }
}

std::string ErrorDetail(std::error_code ec) {
  return ec && ec == t_detail.code ? t_detail.text : std::string();
}

std::string DescribeError(std::error_code ec) {
  std::string text = ec.message();
  if (std::string detail = ErrorDetail(ec); !detail.empty()) text += ": " + detail;
  return text;
}

std::error_code NoteError(std::error_code ec, std::string_view detail) noexcept {
  try {
    t_detail.text.assign(detail);
    t_detail.code = ec;
  } catch (...) {
    ClearErrorDetail();
  }
  return ec;
}

void ClearErrorDetail() noexcept {
  t_detail.code = {};
  t_detail.text.clear();
}

}  // namespace jeff
