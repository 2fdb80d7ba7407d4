#pragma once
// jeffctl's command table and the driver that picks a command, answers
// --help, and turns usage errors into exit code 2.

#include "args.hpp"

#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace jeff::ctl {

// The process exit codes, the operator-facing contract of jeffctl.
enum class ExitCode : int {
  kOk = 0,                // success
  kFailure = 1,           // invalid or expired token, nothing found
  kUsage = 2,             // bad command line, input or configuration
  kStoreUnavailable = 3,  // the store failed (down, refused, timed out, corrupt record)
};

// One command, such as `sessions list`.
struct Command {
  std::string_view name;     // "list"
  std::string_view summary;  // one line for `jeffctl --help`
  std::string usage;         // the whole `--help` text
  std::vector<Flag> flags;
  // Runs the command; may throw UsageError.
  std::function<ExitCode(const Args&)> run;
};

// Commands under one word, such as `sessions`.
struct CommandGroup {
  std::string_view name;
  std::vector<Command> commands;
};

// Runs the command that `argv` (without the program name) names: prints
// help on stdout for --help, usage errors on stderr.
ExitCode RunCommandLine(std::span<const CommandGroup> groups,
                        std::span<const std::string_view> argv);

// Prints "jeffctl: <message>" on standard error.
void PrintError(std::string_view message);

}  // namespace jeff::ctl
