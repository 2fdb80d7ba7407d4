// End-to-end: jeffctl's command line itself: --help for every command, and
// exit code 2 for every kind of usage error, with nothing on stdout.

#include <doctest/doctest.h>

#include "tools/jeffctl_support.hpp"

#include <string>
#include <vector>

namespace jeff::test {
namespace {

const std::vector<std::vector<std::string>> kCommands = {
    {"sessions", "list"}, {"sessions", "revoke"}, {"jwe", "decode"}, {"jwe", "encode"}, {"jwe", "inspect"}};

void CheckUsageError(const std::vector<std::string>& args, const std::string& says,
                     const std::string& input = "", EnvChanges env = {}) {
  CheckFails(Jeffctl(args, input, std::move(env)), kExitUsage, says);
}

TEST_CASE("--help describes every command on stdout and exits 0") {
  for (const std::vector<std::string>& words : {std::vector<std::string>{"--help"}, {"-h"}, {"help"}}) {
    const ProcessOutcome run = Jeffctl(words);
    CHECK(run.exit_code == kExitOk);
    CHECK(run.err == "");
    for (const auto& command : kCommands) CHECK(run.out.find(command[0] + " " + command[1]) != std::string::npos);
    CHECK(run.out.find("JEFF_SECRET") != std::string::npos);
  }
  for (const auto& command : kCommands) {
    CAPTURE(command);
    for (const char* help : {"--help", "-h"}) {
      // --help wins over whatever else is on the line, even unknown options.
      const ProcessOutcome run = Jeffctl({command[0], command[1], "--bogus", help});
      CHECK(run.exit_code == kExitOk);
      CHECK(run.err == "");
      CHECK(run.out.starts_with("usage: jeffctl " + command[0] + " " + command[1]));
      CHECK(run.out.find("Exit codes: 0 success") != std::string::npos);
    }
  }
  for (const char* group : {"sessions", "jwe"}) {
    const ProcessOutcome run = Jeffctl({group, "--help"});
    CHECK(run.exit_code == kExitOk);
    CHECK(run.out.find(std::string(group) + " ") != std::string::npos);
  }
}

TEST_CASE("a mistyped command gets the nearest known one suggested") {
  CheckUsageError({"sesions", "list", "k"}, "unknown command sesions; did you mean 'jeffctl sessions list'?");
  CheckUsageError({"sessoins"}, "did you mean 'jeffctl sessions'?");  // a swap is one edit
  CheckUsageError({"jew", "decode"}, "did you mean 'jeffctl jwe decode'?");
  CheckUsageError({"jwe", "decdoe"}, "unknown command jeffctl jwe decdoe; did you mean 'jeffctl jwe decode'?");
  CheckUsageError({"jwe", "encod"}, "did you mean 'jeffctl jwe encode'?");
  CheckUsageError({"sessions", "revok", "k"}, "did you mean 'jeffctl sessions revoke'?");
  // A command without its group, or under the wrong one.
  CheckUsageError({"list", "k"}, "unknown command list; did you mean 'jeffctl sessions list'?");
  CheckUsageError({"inspect"}, "did you mean 'jeffctl jwe inspect'?");
  CheckUsageError({"jwe", "list"}, "did you mean 'jeffctl sessions list'?");
  // Nothing near: no guess.
  for (const std::vector<std::string>& far : {std::vector<std::string>{"frobnicate"}, {"x"}, {"jwe", "decrypt"},
                                              {"sessions", "delete"}}) {
    const ProcessOutcome run = Jeffctl(far);
    CHECK(run.exit_code == kExitUsage);
    CHECK_MESSAGE(run.err.find("did you mean") == std::string::npos, run.err);
  }
}

TEST_CASE("commands and options that do not exist are usage errors") {
  CheckUsageError({}, "no command");
  CheckUsageError({"sesions", "list"}, "unknown command sesions");
  CheckUsageError({"sessions"}, "needs a command");
  CheckUsageError({"jwe", "decrypt"}, "unknown command jeffctl jwe decrypt");
  for (const auto& command : kCommands) {
    CheckUsageError({command[0], command[1], "--bogus"}, "unknown option --bogus");
    CheckUsageError({command[0], command[1], "-x"}, "unknown option -x");
  }
  CheckUsageError({"sessions", "list", "k", "--store"}, "--store needs a value");
  CheckUsageError({"sessions", "list", "k", "--store", "memory://", "--store", "memory://"},
                  "--store given more than once");
  CheckUsageError({"jwe", "decode", "--allow-expired=yes"}, "--allow-expired takes no value");
}

TEST_CASE("sessions commands: key, store and options are checked before any store access") {
  for (const char* command : {"list", "revoke"}) {
    CAPTURE(command);
    CheckUsageError({"sessions", command, "--store", "memory://"}, "missing KEY");
    CheckUsageError({"sessions", command, "a", "b", "--store", "memory://"}, "unexpected argument b");
    CheckUsageError({"sessions", command, "", "--store", "memory://"}, "KEY is empty");
    CheckUsageError({"sessions", command, "k"}, "no store");
    CheckUsageError({"sessions", command, "k"}, "no store", "", {{"JEFF_STORE", ""}});
    CheckUsageError({"sessions", command, "k", "--store", "mysql://db"}, "unknown store URL scheme");
    CheckUsageError({"sessions", command, "k", "--store", "redis://host:99999"}, "invalid store URL");
    CheckUsageError({"sessions", command, "k", "--store", "redis://127.0.0.1:6379?colour=blue"}, "colour");
    CheckUsageError({"sessions", command, "k", "--store", "memory://", "--prefix", "has space"}, "prefix");
    CheckUsageError({"sessions", command, "k", "--store", "memory://", "--idle-timeout", "soon"},
                    "--idle-timeout needs whole seconds");
    CheckUsageError({"sessions", command, "k", "--store", "memory://", "--idle-timeout", "-5"},
                    "--idle-timeout needs whole seconds");
  }
}

TEST_CASE("a key that starts with a dash follows --") {
  const ProcessOutcome run = Jeffctl({"sessions", "list", "--store", "memory://", "--", "-alice"});
  CHECK(run.exit_code == kExitFailure);  // parsed, and not found
  CHECK(run.err.find("no live session") != std::string::npos);
}

}  // namespace
}  // namespace jeff::test
