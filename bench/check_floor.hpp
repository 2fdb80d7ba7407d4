#pragma once
// The floor of a memory-store Check (issue 28): what any stateful check of
// a jeff cookie must do, with the primitives jeff itself uses and nothing
// else. Find the cookie in the header, parse `<kid>.<token>`, SHA-256 the
// token, one hash-table lookup by kid, one constant-time compare of the
// stored token hash. No record, no session copied out, no expiry, no store
// key, no locks. Shared by jeff-bench's MemoryCheckFloor (wall time) and
// jeff-check-profile's `floor` mode (instructions under callgrind).

#include <jeff/cookie.hpp>
#include <jeff/detail/session_cookie.hpp>
#include <jeff/token.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jeff_bench {

class CheckFloor {
 public:
  CheckFloor(std::string cookie_name, std::size_t sessions) : name_(std::move(cookie_name)) {
    table_.reserve(sessions);
  }

  // Records the session whose cookie is in `header` (a view is kept: the
  // header must outlive this), as the store's record holds it.
  void Add(std::string_view header) {
    auto value = jeff::FindCookie(header, name_);
    auto cookie = value ? jeff::detail::ParseSessionCookie(*value) : std::nullopt;
    if (!cookie) throw std::runtime_error("a bench cookie does not parse");
    table_.emplace(cookie->kid, jeff::HashToken(cookie->token));
  }

  // Whether `header` carries the cookie of a recorded session.
  bool Check(std::string_view header) const {
    if (auto value = jeff::FindCookie(header, name_)) {
      if (auto cookie = jeff::detail::ParseSessionCookie(*value)) {
        const jeff::TokenHash hash = jeff::HashToken(cookie->token);
        auto it = table_.find(cookie->kid);
        return it != table_.end() && jeff::ConstantTimeEqual(it->second, hash);
      }
    }
    return false;
  }

 private:
  std::string name_;
  std::unordered_map<std::string_view, jeff::TokenHash> table_;
};

}  // namespace jeff_bench
