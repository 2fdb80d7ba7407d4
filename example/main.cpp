// jeff example: a small web app with logins kept by jeff (cpp-httplib).
//   jeff-example [--address A] [--port P] [--store URL] [--user EMAIL:PASSWORD]...
//                [--origin URL]... [--max-sessions N] [--cookie-name NAME] [--insecure]
//                [--tls-cert FILE --tls-key FILE] [--help]

#include "accounts.hpp"
#include "app.hpp"
#include "config.hpp"
#include "start.hpp"

#include <jeff/sessions.hpp>

#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

namespace {

constexpr std::string_view kProgram = "jeff-example";

httplib::Server* g_server = nullptr;

void Stop(int) {
  if (g_server != nullptr) g_server->stop();
}

}  // namespace

int main(int argc, char** argv) {
  const example::Flags flags = example::ParseFlags(argc, argv, kProgram);
  try {
    const example::Accounts accounts = example::MakeAccounts(flags, kProgram);

    jeff::Sessions sessions = example::StartSessions(flags, kProgram);

    std::unique_ptr<httplib::Server> https;
    if (!flags.tls_cert.empty()) {
      https = std::make_unique<httplib::SSLServer>(flags.tls_cert.c_str(), flags.tls_key.c_str());
      if (!https->is_valid()) {
        std::cerr << kProgram << ": cannot use the certificate " << flags.tls_cert << " and key "
                  << flags.tls_key << "\n";
        return 1;
      }
    }
    httplib::Server plain;
    httplib::Server& server = https ? *https : plain;
    // Without it every keep-alive response waits for the client's delayed ACK.
    server.set_tcp_nodelay(true);
    example::MountRoutes(server, sessions, accounts, example::MakeAppConfig(flags));
    g_server = &server;
    std::signal(SIGINT, Stop);
    std::signal(SIGTERM, Stop);
    std::cerr << example::Banner(flags) << "\n";
    if (!server.listen(flags.address, flags.port)) {
      std::cerr << kProgram << ": cannot listen on " << flags.address << ":" << flags.port << "\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
}
