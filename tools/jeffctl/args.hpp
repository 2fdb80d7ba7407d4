#pragma once
// Command-line parsing for every jeffctl command: GNU-style long options
// (`--name value`, `--name=value`) anywhere among the positional arguments,
// `--` ends the options; plus the environment variables that stand in for
// options.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace jeff::ctl {

// A mistake on the command line (exit code 2); the message names it.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One long option a command accepts.
struct Flag {
  std::string_view name;  // without the leading "--"
  bool takes_value = false;
  bool repeatable = false;
};

// What one command line held.
class Args {
 public:
  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(std::string_view name) const;
  // The value of a non-repeatable option; std::nullopt when not given.
  std::optional<std::string> Value(std::string_view name) const;
  // Every value of a repeatable option, in command-line order.
  std::vector<std::string> Values(std::string_view name) const;

 private:
  friend Args ParseArgs(std::span<const std::string_view> argv, std::span<const Flag> flags);
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>, std::less<>> options_;
};

// A command's flags: its own, then those it shares with other commands.
std::vector<Flag> Flags(std::initializer_list<Flag> own, std::span<const Flag> shared);

// Parses `argv` (the words after the command's name) against `flags`.
// Throws UsageError for an unknown option, a missing or unexpected value, or
// a non-repeatable option given twice.
Args ParseArgs(std::span<const std::string_view> argv, std::span<const Flag> flags);

// True when `argv` asks for help (`--help` or `-h` before any `--`).
bool WantsHelp(std::span<const std::string_view> argv);

// The environment variable `name`; std::nullopt when unset or empty.
std::optional<std::string> Env(const char* name);

// `text` as whole seconds in [min, max]; UsageError naming `flag` otherwise.
std::chrono::seconds ParseSeconds(std::string_view flag, std::string_view text,
                                  std::chrono::seconds min, std::chrono::seconds max);

}  // namespace jeff::ctl
