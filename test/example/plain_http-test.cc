#include <doctest/doctest.h>

#include "plain_http.hpp"

using example::BrowserOrigin;
using example::DropsSecureCookie;

TEST_CASE("BrowserOrigin: the Origin header, else Host with the scheme --origin gives it") {
  const std::vector<std::string> allowed = {"http://0.0.0.0:8080", "https://app.example"};
  CHECK(BrowserOrigin("http://MyHost:8080", "other:1", allowed) == "http://myhost:8080");
  CHECK(BrowserOrigin("", "MyHost:8080", allowed) == "http://myhost:8080");
  CHECK(BrowserOrigin("", "app.example", allowed) == "https://app.example");  // behind TLS
  CHECK(BrowserOrigin("null", "myhost:8080", allowed) == "http://myhost:8080");
  CHECK(BrowserOrigin("", "", allowed).empty());
  CHECK(BrowserOrigin("", "my\x1b[31mhost", allowed).empty());  // nothing to put in a log line
  CHECK(BrowserOrigin("http://a b", "myhost", allowed).empty());
  CHECK(BrowserOrigin("", std::string(301, 'a'), allowed).empty());
  CHECK(BrowserOrigin("", std::string(300, 'a'), allowed) == "http://" + std::string(300, 'a'));
}

TEST_CASE("DropsSecureCookie: plain HTTP on a host name, not on a secure context") {
  for (const char* dropped : {"http://myhost:8080", "http://myhost", "http://192.168.1.20:8080",
                              "http://0.0.0.0:8080", "http://127.example.com", "http://[::2]:80",
                              "http://localhost.example.com:8080"}) {
    CAPTURE(dropped);
    CHECK(DropsSecureCookie(dropped));
  }
  for (const char* kept : {"https://myhost:8080", "http://localhost:8080", "http://localhost",
                           "http://app.localhost:8080", "http://127.0.0.1:8080", "http://127.1.2.3",
                           "http://[::1]:8080", "", "http://", "ftp://myhost"}) {
    CAPTURE(kept);
    CHECK_FALSE(DropsSecureCookie(kept));
  }
}
