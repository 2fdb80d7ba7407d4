// A POCO consumer of the installed jeff: <jeff/http/poco.hpp> from the
// installed headers, linked with `pkg-config --libs jeff-memory` plus
// -lPocoNet -lPocoFoundation (Debian's libpoco-dev ships no .pc file).
// A Wrap'ed route on a Poco::Net::HTTPServer answers 302 without a session
// and 200 with one.

#include <jeff/http/poco.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/ServerSocket.h>

#include <iostream>
#include <memory>
#include <string>

namespace jp = jeff::http::poco;

int main() {
  jeff::Options options;
  options.store = std::make_shared<jeff::MemoryStore>();
  options.insecure = true;
  jeff::Sessions sessions(options);
  auto* router = new jp::Router;  // owned by the server
  router->Add("GET", "/account", jp::Wrap(sessions, [](jp::Request&, jp::Response& res,
                                                       const jeff::Session& s) {
    jp::Send(res, "hello " + s.key, "text/plain");
  }));
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  Poco::Net::HTTPServer server(router, socket, new Poco::Net::HTTPServerParams);
  server.start();

  const auto issued = sessions.Set("alice@example.com");
  if (!issued) return 1;
  const std::string cookie = issued->set_cookie.front().substr(0, issued->set_cookie.front().find(';'));
  int statuses[2];
  for (int i = 0; i < 2; ++i) {
    Poco::Net::HTTPClientSession client("127.0.0.1", socket.address().port());
    Poco::Net::HTTPRequest req("GET", "/account", Poco::Net::HTTPMessage::HTTP_1_1);
    if (i == 1) req.set("Cookie", cookie);
    client.sendRequest(req);
    Poco::Net::HTTPResponse res;
    client.receiveResponse(res).ignore(1 << 20);
    statuses[i] = res.getStatus();
  }
  server.stopAll(true);
  std::cout << "poco consumer: " << statuses[0] << " without a session, " << statuses[1]
            << " with one\n";
  return statuses[0] == 302 && statuses[1] == 200 ? 0 : 1;
}
