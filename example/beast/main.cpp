// jeff example on Boost.Beast: the same web app as jeff-example, served by
// C++20 coroutines on ONE io_context thread over jeff::AsyncSessions (store
// calls never block the loop; Argon2 password checks run on a small pool).
//   jeff-example-beast [--address A] [--port P] [--store URL] [--user EMAIL:PASSWORD]...
//                      [--origin URL]... [--max-sessions N] [--cookie-name NAME] [--insecure]
//                      [--max-connections N] [--idle-timeout S] [--request-timeout S] [--help]

#include "routes.hpp"
#include "server.hpp"

#include "../accounts.hpp"
#include "../config.hpp"

#include <jeff/async_sessions.hpp>
#include <jeff/stores/open_async_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kProgram = "jeff-example-beast";

// Threads that check password hashes (Argon2, tens of milliseconds each).
constexpr std::size_t kHashThreads = 2;

// The flags of this server alone, for --help.
constexpr std::string_view kServerUsage =
    R"(  --max-connections N   connections served at once; more wait until one closes
                        (default: the open-file limit, ulimit -n, less
                        min(64, half of it))
  --idle-timeout S      close a connection that sends no request for S seconds
                        (default 15)
  --request-timeout S   a request must arrive, and its response leave, within
                        S seconds of its first byte (default 20)
)";

// Takes this server's own flags out of argv (argc shrinks) and returns them;
// a bad value exits 2.
example::beast::ServerOptions TakeServerFlags(int& argc, char** argv) {
  example::beast::ServerOptions options;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const auto number = [&](long max) {
      char* end = nullptr;
      const long v = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : 0;
      if (end == nullptr || *end != '\0' || end == argv[i + 1] || v < 1 || v > max) {
        std::cerr << kProgram << ": " << flag << " needs a number from 1 to " << max << "\n";
        std::exit(2);
      }
      ++i;
      return v;
    };
    if (flag == "--max-connections") {
      options.max_connections = static_cast<std::size_t>(number(10000000));
    } else if (flag == "--idle-timeout") {
      options.idle_timeout = std::chrono::seconds(number(86400));
    } else if (flag == "--request-timeout") {
      options.request_timeout = std::chrono::seconds(number(86400));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return options;
}

// Probes the store, warns, then listens; sets `exit_code` to 1 and stops the
// loop when the address cannot be bound.
boost::asio::awaitable<void> Run(boost::asio::io_context& loop, const example::Flags& flags,
                                 jeff::AsyncSessions& sessions,
                                 const example::beast::Router& router,
                                 example::beast::ServerOptions server_options, int& exit_code) {
  // A store that cannot be reached is not fatal (it may come up later), but
  // it is the first thing to know when every page answers 503.
  std::error_code probe;
  if (!flags.stateless) {
    auto found = co_await sessions.SessionsForKey("jeff-example start-up probe",
                                                  boost::asio::use_awaitable);
    if (!found) probe = found.error();
  }
  example::WarnAtStartUp(flags, kProgram, probe);

  boost::asio::ip::tcp::acceptor acceptor(loop);
  try {
    const boost::asio::ip::tcp::endpoint endpoint(
        boost::asio::ip::make_address(flags.address), static_cast<unsigned short>(flags.port));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": cannot listen on " << flags.address << ":" << flags.port << " ("
              << e.what() << ")\n";
    exit_code = 1;
    loop.stop();
    co_return;
  }
  std::cerr << example::Banner(flags) << " on Boost.Beast, one loop thread\n";
  co_await example::beast::Listen(std::move(acceptor), router, server_options);
}

}  // namespace

int main(int argc, char** argv) {
  const example::beast::ServerOptions server_options = TakeServerFlags(argc, argv);
  const example::Flags flags = example::ParseFlags(argc, argv, kProgram, kServerUsage);
  if (!flags.tls_cert.empty()) {
    std::cerr << kProgram << ": --tls-cert: this server speaks plain HTTP (put a TLS proxy in front)\n";
    return 2;
  }
  try {
    const example::Accounts accounts = example::MakeAccounts(flags, kProgram);

    boost::asio::io_context loop(1);
    boost::asio::thread_pool hash_pool(kHashThreads);
    std::shared_ptr<jeff::AsyncStore> store;
    if (!flags.stateless) store = jeff::OpenAsyncStore(flags.store, loop.get_executor());
    jeff::AsyncSessions sessions(example::SessionOptions(flags), store, loop.get_executor());

    example::beast::Router router;
    example::beast::MountRoutes(router, sessions, accounts, example::MakeAppConfig(flags),
                                hash_pool.get_executor());

    boost::asio::signal_set signals(loop, SIGINT, SIGTERM);
    signals.async_wait([&loop](const boost::system::error_code&, int) { loop.stop(); });
    int exit_code = 0;
    boost::asio::co_spawn(loop, Run(loop, flags, sessions, router, server_options, exit_code),
                          [](std::exception_ptr e) {
                            if (e) std::rethrow_exception(e);
                          });
    loop.run();
    hash_pool.join();
    return exit_code;
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
}
