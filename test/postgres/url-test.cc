// postgres:// URLs: jeff's own options taken out, the rest checked by libpq;
// no error message shows a password. No server needed.
#include <doctest/doctest.h>

#include <jeff/stores/open_store.hpp>
#include <jeff/stores/postgres/postgres_store.hpp>

#include <stdexcept>
#include <string>

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
