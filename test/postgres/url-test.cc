// postgres:// URLs: jeff's own options taken out, the rest checked by libpq;
// no error message shows a password. No server needed.
#include <doctest/doctest.h>

#include <jeff/stores/open_store.hpp>
#include <jeff/stores/postgres/authjs_sessions.hpp>
#include <jeff/stores/postgres/postgres_store.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace jeff::test {
namespace {

std::string ErrorOf(const std::string& url) {
  try {
    OpenStore(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("OpenStore accepts postgres:// and postgresql:// URLs with jeff's and libpq's options") {
  CHECK(OpenStore("postgres://jeff@127.0.0.1:1/app"));
  CHECK(OpenStore("postgresql://u:secret@127.0.0.1:1/app?sslmode=disable&table=my.sessions"
                  "&create_table=1&timeout=250ms&pool_size=4&sweep_interval=0&connect_timeout=3"));
  CHECK(OpenStore("postgresql:///app?host=/var/run/postgresql"));
}

TEST_CASE("bad postgres URLs are refused at start-up, naming the problem, never the password") {
  const std::string unknown = ErrorOf("postgres://u:hunter2@127.0.0.1/app?no_such_option=1");
  CHECK(unknown.find("no_such_option") != std::string::npos);
  CHECK(unknown.find("hunter2") == std::string::npos);
  const std::string table = ErrorOf("postgres://u:hunter2@127.0.0.1/app?table=x;drop");
  CHECK(table.find("table") != std::string::npos);
  CHECK(table.find("hunter2") == std::string::npos);
  const std::string timeout = ErrorOf("postgres://u:hunter2@127.0.0.1/app?timeout=soon");
  CHECK(timeout.find("timeout") != std::string::npos);
  CHECK(timeout.find("hunter2") == std::string::npos);
  CHECK(ErrorOf("postgres://127.0.0.1/app?create_table=yes").find("create_table") != std::string::npos);
  CHECK(ErrorOf("postgres://127.0.0.1/app?connect_timeout=0").find("connect_timeout") != std::string::npos);
}

// What the options' constructor throws for `conninfo`; "" when nothing.
template <typename Options, typename Object>
std::string ConninfoError(const std::string& conninfo) {
  Options o;
  o.conninfo = conninfo;
  try {
    Object object(o);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("a password libpq cannot parse is never quoted in the error (URL or key=value)") {
  // libpq's own complaints quote the token they choke on, the whole URI, or
  // the word after a value: each must reach the message redacted.
  const std::string secret = "Sup3rS3cretPw";
  const std::vector<std::string> conninfos = {
      "postgres://app:" + secret + "%zz@127.0.0.1:5432/app",
      "postgresql://app:" + secret + "%00@127.0.0.1/app",
      "postgres://app:" + secret + "%@127.0.0.1/app",
      "postgres://app:" + secret + "%4@127.0.0.1/app?sslmode=disable",
      "postgresql://app:" + secret + "@[::1/app",
      "host=127.0.0.1 password=" + secret + " dbname",
      "host=127.0.0.1 password='" + secret + " user=app",
      "host=127.0.0.1 password=" + secret + "%zz bogus",
  };
  for (const std::string& conninfo : conninfos) {
    CAPTURE(conninfo);
    const std::string via_store = ConninfoError<PostgresStoreOptions, PostgresStore>(conninfo);
    const std::string via_authjs = ConninfoError<AuthJsDatabaseOptions, AuthJsDatabaseSessions>(conninfo);
    CHECK(via_store.find("invalid connection string") != std::string::npos);
    CHECK(via_authjs.find("invalid connection string") != std::string::npos);
    for (const std::string& message : {via_store, via_authjs}) {
      CAPTURE(message);
      CHECK(message.find("S3cret") == std::string::npos);
    }
    if (conninfo.starts_with("postgres")) {
      const std::string via_url = ErrorOf(conninfo);
      CAPTURE(via_url);
      CHECK_FALSE(via_url.empty());
      CHECK(via_url.find("S3cret") == std::string::npos);
    }
  }
  // The reason is still given, with what is not secret.
  const std::string bad_option = ErrorOf("postgres://app:" + secret + "@127.0.0.1/app?sslmdoe=disable");
  CHECK(bad_option.find("sslmdoe") != std::string::npos);
  CHECK(bad_option.find("S3cret") == std::string::npos);
  CHECK(ConninfoError<PostgresStoreOptions, PostgresStore>("postgres://app:" + secret + "%zz@127.0.0.1/app")
            .find("percent-encoded") != std::string::npos);
}

TEST_CASE("PostgresStoreOptions are validated") {
  auto bad = [](auto edit) {
    PostgresStoreOptions o;
    o.conninfo = "postgresql://127.0.0.1/app";
    edit(o);
    CHECK_THROWS_AS(PostgresStore{o}, std::invalid_argument);
  };
  bad([](PostgresStoreOptions& o) { o.conninfo.clear(); });
  bad([](PostgresStoreOptions& o) { o.table = "1abc"; });
  bad([](PostgresStoreOptions& o) { o.table = "a.b.c"; });
  bad([](PostgresStoreOptions& o) { o.table = std::string(49, 'a'); });
  bad([](PostgresStoreOptions& o) { o.command_timeout = std::chrono::milliseconds(0); });
  bad([](PostgresStoreOptions& o) { o.connect_timeout = std::chrono::milliseconds(0); });
  bad([](PostgresStoreOptions& o) { o.sweep_batch = 0; });
  bad([](PostgresStoreOptions& o) { o.max_value_bytes = (std::size_t{1} << 30) + 1; });
  bad([](PostgresStoreOptions& o) {
    o.reconnect_backoff_min = std::chrono::milliseconds(10);
    o.reconnect_backoff_max = std::chrono::milliseconds(5);
  });
  PostgresStoreOptions good;
  good.conninfo = "host=127.0.0.1 port=1 dbname=app";
  good.table = "app.sessions_2";
  CHECK_NOTHROW(PostgresStore{good});
}

}  // namespace
}  // namespace jeff::test
