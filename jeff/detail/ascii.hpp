#pragma once
// Locale-free ASCII character tests for the parsers of cookies, URLs and ids
// (<cctype> depends on the C locale and is undefined for negative chars).

namespace jeff::detail {

constexpr bool IsAsciiDigit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr bool IsAsciiAlpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr char AsciiToLower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The value of hex digit `c` (either case), or -1.
constexpr int HexDigitValue(char c) noexcept {
  if (IsAsciiDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace jeff::detail
