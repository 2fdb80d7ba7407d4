// jeff-bench-million: what a session costs a store at scale. Populates one
// store with `sessions` sessions spread evenly over `keys` application keys
// (Sessions::Set, as a login does, from several threads where the store
// allows) and prints one JSON object with the store's growth per session:
//
//   jeff-bench-million memory|redis|postgres [sessions] [keys]
//
//   memory    resident set size (/proc/self/statm) growth / sessions: the
//             store's maps, records and the allocator's overhead
//   redis     INFO memory used_memory growth / sessions, on the server of
//             JEFF_BENCH_REDIS_PORT (also MEMORY USAGE of one key, a check)
//   postgres  pg_total_relation_size (table, indexes, TOAST) growth /
//             sessions, on JEFF_BENCH_POSTGRES_URL, table jeff_million
//             (dropped and created afresh by each run)
//
// Defaults: 1,000,000 sessions over 100,000 keys (10 per key).

#include "fixtures.hpp"

#include <jeff/sessions.hpp>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kPostgresTable = "jeff_million";

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class Redis {
 public:
  explicit Redis(int port) : c_(redisConnect("127.0.0.1", port)) {
    if (!c_ || c_->err) throw std::runtime_error("cannot connect to Redis on port " + std::to_string(port));
  }
  Reply Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(c_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!r || r->type == REDIS_REPLY_ERROR) throw std::runtime_error("Redis " + args.front() + " failed");
    return r;
  }
  std::int64_t UsedMemory() {
    Reply r = Command({"INFO", "memory"});
    const std::string text(r->str, r->len);
    const std::string field = "used_memory:";
    const auto at = text.find(field);
    if (at == std::string::npos) throw std::runtime_error("INFO memory without used_memory");
    return std::atoll(text.c_str() + at + field.size());
  }

 private:
  std::unique_ptr<redisContext, ContextFree> c_;
};

struct ConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};

class Postgres {
 public:
  explicit Postgres(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    if (!c_ || PQstatus(c_.get()) != CONNECTION_OK) {
      throw std::runtime_error(std::string("cannot connect to PostgreSQL: ") +
                               (c_ ? PQerrorMessage(c_.get()) : "out of memory"));
    }
    Exec("SET client_min_messages = warning");  // no NOTICE from DROP ... IF EXISTS
  }
  // The first field of the first row ("" when none).
  std::string Exec(const std::string& sql) {
    std::unique_ptr<PGresult, ResultFree> r(PQexec(c_.get(), sql.c_str()));
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error(sql.substr(0, 40) + ": " + PQresultErrorMessage(r.get()));
    }
    return status == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
  }
  std::int64_t TableBytes() {
    // VACUUM first: the figure is what the live rows take, without the dead
    // versions a Set's read-modify-write leaves until autovacuum runs.
    Exec(std::string("VACUUM ") + kPostgresTable);
    return std::atoll(Exec(std::string("SELECT pg_total_relation_size('") + kPostgresTable + "')").c_str());
  }

 private:
  std::unique_ptr<PGconn, ConnFree> c_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string store = argc > 1 ? argv[1] : "memory";
    const std::size_t sessions = argc > 2 ? std::stoul(argv[2]) : 1000000;
    const std::size_t keys = argc > 3 ? std::stoul(argv[3]) : 100000;
    if (keys == 0 || sessions < keys) throw std::invalid_argument("need sessions >= keys > 0");
    const std::size_t per_key = sessions / keys;

    std::string url;
    std::function<std::int64_t()> measure;
    std::function<std::string()> extra;
    std::size_t threads = 8;
    std::unique_ptr<Redis> redis;
    std::unique_ptr<Postgres> postgres;
    // Keys of this run only (a server may hold other rows' and runs' keys).
    const std::string prefix = "million" + std::to_string(getpid()) + ":";
    if (store == "memory") {
      url = "memory://";
      // Populating the memory store is CPU-bound: one thread per core.
      threads = std::max(1u, std::thread::hardware_concurrency());
      measure = jeff_bench::ResidentBytes;
    } else if (store == "redis") {
      const auto redis_url = jeff_bench::RedisUrl();
      if (!redis_url) throw std::runtime_error("JEFF_BENCH_REDIS_PORT is not set");
      // Generous: a loaded machine must slow the run, not fail it.
      url = *redis_url + "?timeout=10s&pool_timeout=10s";
      redis = std::make_unique<Redis>(jeff_bench::PortFromEnv("JEFF_BENCH_REDIS_PORT"));
      measure = [&] { return redis->UsedMemory(); };
      extra = [&] {
        // The first key of this run that SCAN meets.
        std::string key, cursor = "0";
        do {
          Reply scan = redis->Command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
          if (scan->elements < 2) return std::string();
          cursor.assign(scan->element[0]->str, scan->element[0]->len);
          if (scan->element[1]->elements > 0) {
            key.assign(scan->element[1]->element[0]->str, scan->element[1]->element[0]->len);
          }
        } while (key.empty() && cursor != "0");
        if (key.empty()) return std::string();
        Reply usage = redis->Command({"MEMORY", "USAGE", key, "SAMPLES", "0"});
        Reply length = redis->Command({"STRLEN", key});
        return ",\"memory_usage_one_key\":" + std::to_string(usage->integer) +
               ",\"value_bytes_one_key\":" + std::to_string(length->integer);
      };
    } else if (store == "postgres") {
      const auto pg_url = jeff_bench::PostgresUrl();
      if (!pg_url) throw std::runtime_error("JEFF_BENCH_POSTGRES_URL is not set");
      postgres = std::make_unique<Postgres>(*pg_url);
      postgres->Exec(std::string("DROP TABLE IF EXISTS ") + kPostgresTable);
      postgres->Exec(std::string("DROP SEQUENCE IF EXISTS ") + kPostgresTable + "_version");
      url = *pg_url + (pg_url->find('?') == std::string::npos ? "?" : "&") +
            "create_table=1&table=" + kPostgresTable + "&timeout=10s&pool_timeout=10s";
      measure = [&] { return postgres->TableBytes(); };
      extra = [&] {
        return ",\"rows\":" + postgres->Exec(std::string("SELECT count(*) FROM ") + kPostgresTable);
      };
    } else {
      throw std::invalid_argument("unknown store " + store + " (memory, redis or postgres)");
    }

    jeff::Sessions s(jeff_bench::StatefulOptions(url, prefix));
    // One login before the baseline: connections, pools and (PostgreSQL)
    // the table exist, so the growth is the sessions' alone.
    if (auto warm = s.Set("warm-up@example.com"); !warm) {
      throw std::runtime_error("Set on " + url + ": " + warm.error().message());
    }
    const std::int64_t before = measure();
    const auto start = std::chrono::steady_clock::now();
    // Session s of key k is Set in round s (all keys get their first session,
    // then their second, ...), so records grow as they do over real logins.
    jeff_bench::ParallelFor(per_key * keys, threads, [&](std::size_t i) {
      const std::string key = "user" + std::to_string(i % keys) + "@example.com";
      auto issued = s.Set(key);
      if (!issued) throw std::runtime_error("Set on " + url + ": " + issued.error().message());
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::int64_t after = measure();
    const std::size_t stored = per_key * keys;
    std::cout << "{\"store\":\"" << store << "\",\"sessions\":" << stored << ",\"keys\":" << keys
              << ",\"threads\":" << threads << ",\"before_bytes\":" << before << ",\"after_bytes\":" << after
              << ",\"bytes_per_session\":" << static_cast<double>(after - before) / static_cast<double>(stored)
              << ",\"sets_per_s\":" << static_cast<double>(stored) / seconds << (extra ? extra() : "") << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "jeff-bench-million: " << e.what() << "\n";
    return 1;
  }
}
