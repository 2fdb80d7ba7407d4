#pragma once
/// \file
/// jeff::Result<T>: a value or a std::error_code, returned on the request path
/// instead of throwing (C++20 has no std::expected).

#include <jeff/error.hpp>

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace jeff {

/// Either a `T` or the std::error_code that explains why there is none.
/// Accessing the value of a failed Result throws std::system_error.
template <typename T>
class [[nodiscard]] Result {
 public:
  /// A successful result holding `value`.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  /// A failed result; `error` must not be a success code.
  Result(std::error_code error) : state_(std::in_place_index<1>, error) {}  // NOLINT
  /// A failed result with a jeff error code.
  Result(Errc error) : state_(std::in_place_index<1>, make_error_code(error)) {}  // NOLINT

  /// True when the result holds a value.
  bool ok() const noexcept { return state_.index() == 0; }
  /// Same as ok().
  explicit operator bool() const noexcept { return ok(); }

  /// The value; throws std::system_error(error()) when there is none.
  T& value() & { Require(); return std::get<0>(state_); }
  const T& value() const& { Require(); return std::get<0>(state_); }
  T&& value() && { Require(); return std::get<0>(std::move(state_)); }
  /// Same as value(): throws std::system_error(error()) when there is none.
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; a default (success) std::error_code when the result is ok().
  std::error_code error() const noexcept {
    return ok() ? std::error_code{} : std::get<1>(state_);
  }

 private:
  void Require() const {
    if (!ok()) throw std::system_error(std::get<1>(state_));
  }
  std::variant<T, std::error_code> state_;
};

/// A result that carries no value: success, or the error.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// Success.
  Result() = default;
  /// Failure with `error` (a default std::error_code means success).
  Result(std::error_code error) : error_(error) {}  // NOLINT
  /// Failure with a jeff error code.
  Result(Errc error) : error_(make_error_code(error)) {}  // NOLINT

  /// True on success.
  bool ok() const noexcept { return !error_; }
  /// Same as ok().
  explicit operator bool() const noexcept { return ok(); }
  /// Throws std::system_error(error()) on failure; does nothing on success.
  void value() const {
    if (error_) throw std::system_error(error_);
  }
  /// The error; a default std::error_code on success.
  std::error_code error() const noexcept { return error_; }

 private:
  std::error_code error_;
};

}  // namespace jeff
