#include "start.hpp"

#include <jeff/stores/open_store.hpp>

#include <system_error>
#include <utility>

namespace example {

jeff::Sessions StartSessions(const Flags& flags, std::string_view program) {
  jeff::Options options = SessionOptions(flags);
  if (!flags.stateless) options.store = jeff::OpenStore(flags.store);
  jeff::Sessions sessions(std::move(options));
  std::error_code probe;
  if (!flags.stateless) {
    const auto found = sessions.SessionsForKey("jeff-example start-up probe");
    if (!found) probe = found.error();
  }
  WarnAtStartUp(flags, program, probe);
  return sessions;
}

}  // namespace example
