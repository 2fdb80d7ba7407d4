#include "command.hpp"

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

namespace jeff::ctl {
namespace {

constexpr std::string_view kExitCodes =
    "Exit codes: 0 success, 1 invalid or expired token or nothing found, 2 usage error,\n"
    "3 store unavailable. Results go to standard output, messages to standard error.\n";

void PrintOverview(std::ostream& out, std::span<const CommandGroup> groups,
                   const CommandGroup* only) {
  out << "usage: jeffctl " << (only != nullptr ? std::string(only->name) : "GROUP")
      << " COMMAND [ARGS] [OPTIONS]\n\n";
  for (const CommandGroup& group : groups) {
    if (only != nullptr && only != &group) continue;
    for (const Command& command : group.commands) {
      std::string name = std::string(group.name) + " " + std::string(command.name);
      name.resize(std::max<std::size_t>(name.size() + 2, 18), ' ');
      out << "  " << name << command.summary << "\n";
    }
  }
  out << "\n'jeffctl GROUP COMMAND --help' describes a command.\n"
         "Environment: JEFF_STORE (--store), JEFF_PEPPER (--pepper), JEFF_SECRET (--secret,\n"
         "comma-separated).\n"
      << kExitCodes;
}

ExitCode Usage(std::string_view message, std::string_view help_hint) {
  PrintError(std::string(message) + "\n(see '" + std::string(help_hint) + " --help')");
  return ExitCode::kUsage;
}

}  // namespace

void PrintError(std::string_view message) { std::cerr << "jeffctl: " << message << std::endl; }

ExitCode RunCommandLine(std::span<const CommandGroup> groups,
                        std::span<const std::string_view> argv) {
  if (argv.empty()) return Usage("no command given", "jeffctl");
  if (argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    PrintOverview(std::cout, groups, nullptr);
    return ExitCode::kOk;
  }
  const auto group = std::find_if(groups.begin(), groups.end(),
                                  [&](const CommandGroup& g) { return g.name == argv[0]; });
  if (group == groups.end()) return Usage("unknown command " + std::string(argv[0]), "jeffctl");
  const std::string group_hint = "jeffctl " + std::string(group->name);
  if (argv.size() < 2) return Usage("'" + group_hint + "' needs a command", group_hint);
  if (argv[1] == "--help" || argv[1] == "-h") {
    PrintOverview(std::cout, groups, &*group);
    return ExitCode::kOk;
  }
  const auto command = std::find_if(group->commands.begin(), group->commands.end(),
                                    [&](const Command& c) { return c.name == argv[1]; });
  if (command == group->commands.end()) {
    return Usage("unknown command " + group_hint + " " + std::string(argv[1]), group_hint);
  }
  const std::span<const std::string_view> rest = argv.subspan(2);
  if (WantsHelp(rest)) {
    std::cout << command->usage << "\n" << kExitCodes;
    return ExitCode::kOk;
  }
  try {
    return command->run(ParseArgs(rest, command->flags));
  } catch (const UsageError& e) {
    return Usage(e.what(), group_hint + " " + std::string(command->name));
  }
}

}  // namespace jeff::ctl
