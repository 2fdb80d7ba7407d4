// Reference: a raw libpq loop of one prepared, binary `SELECT value FROM t
// WHERE key = $1`, one connection per thread, on values of the size of a
// one-session record: what a Check that is one round trip and one index
// lookup can cost at best. jeff's Check on PostgreSQL runs the same shape of
// statement (plus its expiry condition) through its pool.

#include "benchmarks.hpp"
#include "fixtures.hpp"

#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace jeff_bench {
namespace {

struct ConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnFree>;

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultFree>;

constexpr const char* kTable = "jeff_bench_raw";

Conn Connect(const std::string& url) {
  Conn c(PQconnectdb(url.c_str()));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("cannot connect to PostgreSQL: ") +
                             (c ? PQerrorMessage(c.get()) : "out of memory"));
  }
  return c;
}

void Exec(PGconn* c, const std::string& sql) {
  PgResult r(PQexec(c, sql.c_str()));
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql.substr(0, 40) + ": " + PQresultErrorMessage(r.get()));
  }
}

void PopulateOnce(const std::string& url, std::size_t value_bytes) {
  static std::once_flag once;
  std::call_once(once, [&] {
    Conn c = Connect(url);
    Exec(c.get(), std::string("DROP TABLE IF EXISTS ") + kTable);
    Exec(c.get(), std::string("CREATE TABLE ") + kTable +
                      " (key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL)");
    Exec(c.get(), std::string("INSERT INTO ") + kTable +
                      " SELECT 'rawget:' || i, convert_to(repeat('v', " + std::to_string(value_bytes) +
                      "), 'UTF8') FROM generate_series(0, " + std::to_string(kKeys - 1) + ") AS i");
    Exec(c.get(), std::string("ANALYZE ") + kTable);
  });
}

void RawSelect(benchmark::State& state, const std::string& url, std::size_t value_bytes) {
  Guarded(state, [&] {
    PopulateOnce(url, value_bytes);
    Conn c = Connect(url);
    PgResult prepared(PQprepare(c.get(), "raw_get",
                                (std::string("SELECT value FROM ") + kTable + " WHERE key = $1").c_str(),
                                1, nullptr));
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) throw std::runtime_error("PREPARE failed");
    const std::vector<std::string> keys = RawKeys();
    IndexWalk walk(kKeys, static_cast<std::size_t>(state.thread_index()) + 1);
    const int format = 1;
    for (auto _ : state) {
      const std::string& key = keys[walk.Next()];
      const char* value = key.data();
      const int length = static_cast<int>(key.size());
      PgResult r(PQexecPrepared(c.get(), "raw_get", 1, &value, &length, &format, /*resultFormat=*/1));
      if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1 ||
          static_cast<std::size_t>(PQgetlength(r.get(), 0, 0)) != value_bytes) {
        state.SkipWithError("raw SELECT failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
  });
}

}  // namespace

void RegisterRawPostgresBenchmarks() {
  const auto url = PostgresUrl();
  if (!url) return;
  const std::size_t value_bytes = SizeFromEnv("JEFF_BENCH_REDIS_VALUE_BYTES", 116);
  benchmark::RegisterBenchmark("PostgresRawSelect",
                               [=](benchmark::State& s) { RawSelect(s, *url, value_bytes); })
      ->Threads(1)->Threads(16)->UseRealTime();
}

}  // namespace jeff_bench
