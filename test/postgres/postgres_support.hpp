#pragma once
// Test support for the PostgreSQL store: a real server (initdb'd by the
// test, on a free loopback port) shared by a test program, stores on it, and
// a raw libpq connection to see and change what the table holds.

#include <jeff/stores/postgres/postgres_store.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/server_process.hpp"

namespace jeff::test {

/// The libpq URI of the test server on `port` (user jeff, trust auth).
inline std::string PostgresUrl(std::uint16_t port) {
  return "postgresql://jeff@127.0.0.1:" + std::to_string(port) + "/postgres";
}

/// Waits until the server on `port` accepts sessions (it accepts TCP before
/// it is ready). Throws after `limit`.
inline void WaitPostgresReady(std::uint16_t port,
                              std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const std::string url = PostgresUrl(port);
  while (PQping(url.c_str()) != PQPING_OK) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("PostgreSQL on port " + std::to_string(port) + " never became ready");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

/// A PostgreSQL server started on first use and kept for the whole test
/// program (keys are unique per test; tables are named per test).
inline ServerProcess& SharedPostgres() {
  static const std::unique_ptr<ServerProcess> server = [] {
    auto s = StartPostgres();
    WaitPostgresReady(s->port());
    return s;
  }();
  return *server;
}

/// Options for a store on the server on `port` that creates its table, with
/// timeouts generous enough for a sanitizer build on a loaded machine (the
/// tests of timeouts set their own).
inline PostgresStoreOptions TestOptions(std::uint16_t port, std::string table = "jeff_sessions") {
  PostgresStoreOptions o;
  o.conninfo = PostgresUrl(port);
  o.table = std::move(table);
  o.create_table = true;
  o.connect_timeout = std::chrono::seconds(5);
  o.command_timeout = std::chrono::seconds(5);
  o.pool_timeout = std::chrono::seconds(5);
  o.reconnect_backoff_min = std::chrono::milliseconds(20);
  o.reconnect_backoff_max = std::chrono::milliseconds(200);
  return o;
}

/// Creates the table of TestOptions(port, table) with its generous timeouts,
/// so that a store with short ones (a test of timeouts or of a stopped
/// server) does not spend them on the DDL, which a loaded machine can make
/// take longer. Throws when the table cannot be created.
inline void CreateTestTable(std::uint16_t port, std::string table = "jeff_sessions") {
  PostgresStore store(TestOptions(port, std::move(table)));
  if (!store.Erase("create-test-table").ok()) throw std::runtime_error("creating the test table failed");
}

/// A blocking libpq connection for set-up and checks. Throws on errors.
class RawPostgres {
 public:
  explicit RawPostgres(std::uint16_t port) : conn_(PQconnectdb(PostgresUrl(port).c_str()), &PQfinish) {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      throw std::runtime_error(std::string("raw connection: ") + PQerrorMessage(conn_.get()));
    }
  }
  /// Runs `sql`; returns the first column of the first row ("" when none).
  std::string Query(const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn_.get(), sql.c_str()), &PQclear);
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
    }
    if (status == PGRES_COMMAND_OK || PQntuples(r.get()) == 0) return "";
    return PQgetvalue(r.get(), 0, 0);
  }

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
};

}  // namespace jeff::test
