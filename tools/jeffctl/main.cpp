// jeffctl: the operator's command line for jeff. Lists and revokes the
// sessions of a key in an application's store, moves its records to a new
// pepper (sessions rekey), and decodes, encodes and
// inspects Auth.js-compatible JWE tokens. `jeffctl --help` for the commands.

#include "command.hpp"
#include "jwe_command.hpp"
#include "sessions_command.hpp"

#include <exception>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  using jeff::ctl::ExitCode;
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    const std::vector<jeff::ctl::CommandGroup> groups = {jeff::ctl::SessionsCommands(),
                                                         jeff::ctl::JweCommands()};
    return static_cast<int>(jeff::ctl::RunCommandLine(groups, args));
  } catch (const std::exception& e) {
    // Nothing on the normal paths throws; this is a bug or an exhausted system.
    jeff::ctl::PrintError(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::kFailure);
  }
}
