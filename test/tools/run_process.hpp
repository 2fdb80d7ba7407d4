#pragma once
// Test support: runs a program to completion with given standard input and
// environment, and captures its exit code, standard output and error.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jeff::test {

/// How a child process ended.
struct ProcessOutcome {
  int exit_code = -1;  ///< the exit status; 128 + signal when killed by one
  std::string out;     ///< everything it wrote on standard output
  std::string err;     ///< everything it wrote on standard error
};

/// Changes to the inherited environment: a value sets the variable,
/// std::nullopt removes it.
using EnvChanges = std::map<std::string, std::optional<std::string>>;

/// Runs `argv` (argv[0] is a path, or a name looked up in PATH) with `input`
/// on standard input and this process's environment changed by `env`.
/// Throws std::runtime_error when the program cannot be started or does not
/// end within `timeout` (it is then killed).
ProcessOutcome RunProcess(const std::vector<std::string>& argv, std::string_view input = {},
                          const EnvChanges& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace jeff::test
