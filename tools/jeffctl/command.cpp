#include "command.hpp"

#include "suggest.hpp"

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

namespace jeff::ctl {
namespace {

constexpr std::string_view kExitCodes =
    "Exit codes: 0 success, 1 invalid or expired token or nothing found, 2 usage error,\n"
    "3 store failed (down, refused, timed out). Results go to standard output, messages to\n"
    "standard error.\n";

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

// " Did you mean '<suggestion>'?" when one is near `typed`, else "".
std::string DidYouMean(std::string_view typed, const std::vector<Candidate>& candidates) {
  const std::optional<std::string> nearest = Nearest(typed, candidates);
  return nearest ? "; did you mean '" + *nearest + "'?" : "";
}

// Appends each command of `group`, suggested in full ("jeffctl jwe decode").
void AddCommands(const CommandGroup& group, std::vector<Candidate>& candidates) {
  for (const Command& command : group.commands) {
    candidates.push_back({std::string(command.name),
                          "jeffctl " + std::string(group.name) + " " + std::string(command.name)});
  }
}

// Candidates for a mistyped group name: the groups, then every command
// (`jeffctl list` means `jeffctl sessions list`). `next` is the word after
// it, kept in a group's suggestion when it names one of that group's commands.
std::vector<Candidate> GroupCandidates(std::span<const CommandGroup> groups, std::string_view next) {
  std::vector<Candidate> candidates;
  for (const CommandGroup& group : groups) {
    std::string suggestion = "jeffctl " + std::string(group.name);
    for (const Command& command : group.commands) {
      if (command.name == next) suggestion += " " + std::string(next);
    }
    candidates.push_back({std::string(group.name), suggestion});
  }
  for (const CommandGroup& group : groups) AddCommands(group, candidates);
  return candidates;
}

// Candidates for a mistyped command of `group`: its commands, then those of
// the other groups.
std::vector<Candidate> CommandCandidates(std::span<const CommandGroup> groups, const CommandGroup& group) {
  std::vector<Candidate> candidates;
  AddCommands(group, candidates);
  for (const CommandGroup& other : groups) {
    if (&other != &group) AddCommands(other, candidates);
  }
  return candidates;
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
  if (group == groups.end()) {
    const std::string_view next = argv.size() > 1 ? argv[1] : std::string_view();
    return Usage("unknown command " + std::string(argv[0]) +
                     DidYouMean(argv[0], GroupCandidates(groups, next)),
                 "jeffctl");
  }
  const std::string group_hint = "jeffctl " + std::string(group->name);
  if (argv.size() < 2) return Usage("'" + group_hint + "' needs a command", group_hint);
  if (argv[1] == "--help" || argv[1] == "-h") {
    PrintOverview(std::cout, groups, &*group);
    return ExitCode::kOk;
  }
  const auto command = std::find_if(group->commands.begin(), group->commands.end(),
                                    [&](const Command& c) { return c.name == argv[1]; });
  if (command == group->commands.end()) {
    return Usage("unknown command " + group_hint + " " + std::string(argv[1]) +
                     DidYouMean(argv[1], CommandCandidates(groups, *group)),
                 group_hint);
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
