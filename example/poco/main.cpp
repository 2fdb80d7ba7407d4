// jeff example on POCO: the same web app as jeff-example, served by
// Poco::Net::HTTPServer's thread pool over a synchronous jeff::Sessions.
//   jeff-example-poco [--address A] [--port P] [--store URL] [--user EMAIL:PASSWORD]...
//                     [--origin URL]... [--max-sessions N] [--cookie-name NAME] [--insecure]
//                     [--dbsc] [--dbsc-cookie-lifetime SECONDS]
//                     [--help]

#include "routes.hpp"

#include "../accounts.hpp"
#include "../config.hpp"
#include "../start.hpp"

#include <jeff/sessions.hpp>

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/ServerSocket.h>

#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>

namespace {

constexpr std::string_view kProgram = "jeff-example-poco";

}  // namespace

int main(int argc, char** argv) {
  const example::Flags flags = example::ParseFlags(argc, argv, kProgram);
  if (!flags.tls_cert.empty()) {
    std::cerr << kProgram << ": --tls-cert: this server speaks plain HTTP (put a TLS proxy in front)\n";
    return 2;
  }
  try {
    const example::Accounts accounts = example::MakeAccounts(flags, kProgram);

    jeff::Sessions sessions = example::StartSessions(flags, kProgram);

    // SIGINT and SIGTERM are awaited below; blocked before the server's
    // threads start, so that none of them takes the signal.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    auto* router = new jeff::http::poco::Router;  // owned by the server
    example::poco::MountRoutes(*router, sessions, accounts, example::MakeAppConfig(flags));
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    try {
      socket = std::make_unique<Poco::Net::ServerSocket>(
          Poco::Net::SocketAddress(flags.address, static_cast<Poco::UInt16>(flags.port)));
    } catch (const std::exception& e) {
      delete router;
      std::cerr << kProgram << ": cannot listen on " << flags.address << ":" << flags.port << " ("
                << e.what() << ")\n";
      return 1;
    }
    Poco::Net::HTTPServer server(router, *socket, new Poco::Net::HTTPServerParams);
    server.start();
    std::cerr << example::Banner(flags) << " on POCO\n";
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stopAll(true);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
}
