#include <jeff/stores/postgres/postgres_store.hpp>

#include "stores/detail/connection_pool.hpp"
#include "stores/postgres/connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace jeff {
namespace {

using postgres_detail::Connection;
using postgres_detail::Deadline;
using postgres_detail::Param;
using postgres_detail::PgResult;
using postgres_detail::SteadyClock;
using Pool = store_detail::ConnectionPool<Connection>;

constexpr std::size_t kMaxPartLength = 48;
constexpr std::size_t kMaxValueLimit = std::size_t{1} << 30;

bool IsIdentifier(std::string_view part) { return postgres_detail::IsPlainIdentifier(part, kMaxPartLength); }

// "schema.table" or "table", validated; throws otherwise. The names are
// used unquoted (folded to lower case, as PostgreSQL does).
void RequireTableName(std::string_view table) {
  const std::size_t dot = table.find('.');
  const bool ok = dot == std::string_view::npos
                      ? IsIdentifier(table)
                      : IsIdentifier(table.substr(0, dot)) && IsIdentifier(table.substr(dot + 1));
  if (!ok) {
    throw std::invalid_argument("PostgresStoreOptions::table must be [schema.]name of letters, digits and _ (" +
                                std::to_string(kMaxPartLength) + " at most each), got '" +
                                std::string(table) + "'");
  }
}

std::string Sequence(std::string_view table) { return std::string(table) + "_version"; }

void PutBigEndian(std::int64_t v, std::array<char, 8>& out) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(u >> (56 - 8 * i));
}

void Validate(const PostgresStoreOptions& o) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("PostgresStoreOptions: " + what); };
  if (o.conninfo.empty()) fail("conninfo is empty");
  if (auto problem = postgres_detail::ConninfoProblem(o.conninfo)) fail("invalid connection string: " + *problem);
  RequireTableName(o.table);
  if (o.connect_timeout.count() <= 0) fail("connect_timeout must be > 0");
  if (o.command_timeout.count() <= 0) fail("command_timeout must be > 0");
  if (o.pool_timeout.count() < 0 || o.idle_check_after.count() < 0) fail("timeouts must be >= 0");
  if (o.reconnect_backoff_min.count() < 0 || o.reconnect_backoff_max < o.reconnect_backoff_min) {
    fail("reconnect_backoff_min must be >= 0 and <= reconnect_backoff_max");
  }
  if (o.sweep_interval.count() < 0) fail("sweep_interval must be >= 0");
  if (o.sweep_batch == 0) fail("sweep_batch must be > 0");
  if (o.max_value_bytes == 0 || o.max_value_bytes > kMaxValueLimit) {
    fail("max_value_bytes must be in 1..1 GiB");
  }
}

}  // namespace

std::string PostgresSchemaSql(std::string_view table) {
  RequireTableName(table);
  const std::string t(table);
  const std::string index = t.substr(t.find('.') + 1) + "_expires_at";
  return "CREATE SEQUENCE IF NOT EXISTS " + Sequence(t) + ";\n"
         "CREATE TABLE IF NOT EXISTS " + t + " (\n"
         "  key text COLLATE \"C\" PRIMARY KEY,\n"
         "  value bytea NOT NULL,\n"
         "  version bigint NOT NULL,\n"
         "  expires_at timestamptz NOT NULL\n"
         ");\n"
         "CREATE INDEX IF NOT EXISTS " + index + " ON " + t + " (expires_at);\n";
}

struct PostgresStore::Impl {
  explicit Impl(PostgresStoreOptions o) : options(std::move(o)), pool(Opener(), PoolOpts()) {
    const std::string& t = options.table;
    const std::string live = "expires_at > clock_timestamp()";
    const std::string expiry = "clock_timestamp() + $3::bigint * interval '1 millisecond'";
    statements = {
        postgres_detail::Statement{"jeff_fetch", "SELECT value, version FROM " + t + " WHERE key = $1 AND " + live, 1},
        postgres_detail::Statement{"jeff_update",
                                   "UPDATE " + t + " SET value = $2, version = nextval('" + Sequence(t) +
                                       "'), expires_at = " + expiry + " WHERE key = $1 AND version = $4 AND " + live,
                                   4},
        // "Must be absent": a new row, or an expired one taken over.
        postgres_detail::Statement{"jeff_insert",
                                   "INSERT INTO " + t + " AS t (key, value, version, expires_at) VALUES ($1, $2, nextval('" +
                                       Sequence(t) + "'), " + expiry +
                                       ") ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = "
                                       "EXCLUDED.version, expires_at = EXCLUDED.expires_at WHERE t.expires_at <= "
                                       "clock_timestamp()",
                                   3},
        postgres_detail::Statement{"jeff_erase", "DELETE FROM " + t + " WHERE key = $1", 1},
        // One page of the keys with prefix $2 from $1 on (the primary key's
        // index, in its "C" order, read from $1 forward).
        postgres_detail::Statement{"jeff_keys",
                                   "SELECT key FROM " + t + " WHERE key >= $1 AND starts_with(key, $2) AND " + live +
                                       " ORDER BY key LIMIT $3::bigint",
                                   3},
        postgres_detail::Statement{"jeff_sweep",
                                   "DELETE FROM " + t + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + t +
                                       " WHERE expires_at <= clock_timestamp() LIMIT $1::bigint))",
                                   1},
    };
    if (options.create_table) {
      // One creator at a time across every process sharing the database:
      // concurrent CREATE ... IF NOT EXISTS can still collide.
      setup_sql = "BEGIN; SELECT pg_advisory_xact_lock(hashtext('jeff:" + t + "')); " +
                  PostgresSchemaSql(t) + "COMMIT;";
    }
    // Through std::function: a thread state naming this (hidden) class
    // would be exported from the shared library as a vague-linkage symbol.
    if (options.sweep_interval.count() > 0) {
      sweeper = std::thread(std::function<void()>([this] { SweepLoop(); }));
    }
  }

  ~Impl() {
    {
      std::lock_guard lock(stop_mu);
      stopping = true;
    }
    stop_cv.notify_all();
    if (sweeper.joinable()) sweeper.join();
  }

  Pool::Opener Opener() {
    return [this]() -> Result<std::unique_ptr<Connection>> {
      const Deadline deadline = SteadyClock::now() + options.connect_timeout;
      // The schema is created on a connection until that succeeds once.
      const bool create = !schema_ready.load(std::memory_order_acquire) && !setup_sql.empty();
      auto opened = Connection::Open(options.conninfo, options.command_timeout,
                                     create ? std::string_view(setup_sql) : std::string_view(),
                                     statements, deadline);
      if (opened && create) schema_ready.store(true, std::memory_order_release);
      return opened;
    };
  }

  store_detail::PoolOptions PoolOpts() const {
    store_detail::PoolOptions p;
    p.size = options.pool_size;
    p.wait_timeout = options.pool_timeout;
    p.backoff_min = options.reconnect_backoff_min;
    p.backoff_max = options.reconnect_backoff_max;
    p.idle_check_after = options.idle_check_after;
    return p;
  }

  Result<PgResult> Run(const char* statement, std::span<const Param> params) {
    return postgres_detail::RunPooled(pool, statement, params, options.command_timeout);
  }

  void SweepLoop() {
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, options.sweep_interval, [this] { return stopping; })) {
      lock.unlock();
      (void)SweepNow();  // a failed sweep is retried next time
      lock.lock();
    }
  }

  Result<std::size_t> SweepNow() {
    std::array<char, 8> batch;
    PutBigEndian(static_cast<std::int64_t>(options.sweep_batch), batch);
    const std::array<Param, 1> params{Param(batch.data(), batch.size())};
    std::size_t total = 0;
    for (;;) {
      {
        std::lock_guard lock(stop_mu);
        if (stopping) return total;
      }
      auto done = Run("jeff_sweep", params);
      if (!done) return done.error();
      const std::size_t n = std::strtoull(PQcmdTuples(done->get()), nullptr, 10);
      total += n;
      if (n < options.sweep_batch) return total;
    }
  }

  // (Field order matters: `pool` uses `options`, and the statements and
  // setup SQL exist before the first connection is opened.)
  const PostgresStoreOptions options;
  std::vector<postgres_detail::Statement> statements;
  std::string setup_sql;
  std::atomic<bool> schema_ready{false};
  Pool pool;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread sweeper;
};

PostgresStore::PostgresStore(PostgresStoreOptions options) {
  Validate(options);
  impl_ = std::make_unique<Impl>(std::move(options));
}

PostgresStore::~PostgresStore() = default;

Result<std::optional<Versioned>> PostgresStore::Fetch(std::string_view key) {
  return FetchViaFetchInto(key);
}

Result<std::optional<Version>> PostgresStore::FetchInto(std::string_view key, std::string& value) {
  const std::array<Param, 1> params{Param(key)};
  auto result = impl_->Run("jeff_fetch", params);
  if (!result) return result.error();
  pg_result* r = result->get();
  if (PQntuples(r) == 0) return std::optional<Version>();
  if (PQntuples(r) != 1 || PQnfields(r) != 2 || PQgetlength(r, 0, 1) != 8) return Errc::kStoreProtocol;
  value.assign(PQgetvalue(r, 0, 0), static_cast<std::size_t>(PQgetlength(r, 0, 0)));
  return std::optional<Version>(postgres_detail::ReadBigEndian64(PQgetvalue(r, 0, 1)));
}

Result<bool> PostgresStore::CompareAndSwap(std::string_view key, std::optional<Version> expected,
                                           std::string_view value, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return Errc::kInvalidArgument;
  if (value.size() > impl_->options.max_value_bytes) return Errc::kValueTooLarge;
  std::array<char, 8> ttl_bytes;
  std::array<char, 8> version_bytes;
  PutBigEndian(ttl.count(), ttl_bytes);
  const Param key_param(key);
  const Param value_param(value);
  const Param ttl_param(ttl_bytes.data(), ttl_bytes.size());
  Result<PgResult> result = Errc::kStoreProtocol;
  if (expected) {
    PutBigEndian(static_cast<std::int64_t>(*expected), version_bytes);
    const std::array<Param, 4> params{key_param, value_param, ttl_param,
                                      Param(version_bytes.data(), version_bytes.size())};
    result = impl_->Run("jeff_update", params);
  } else {
    const std::array<Param, 3> params{key_param, value_param, ttl_param};
    result = impl_->Run("jeff_insert", params);
  }
  if (!result) return result.error();
  const char* rows = PQcmdTuples(result->get());
  if (std::strcmp(rows, "1") == 0) return true;
  if (std::strcmp(rows, "0") == 0) return false;
  return Errc::kStoreProtocol;
}

Result<void> PostgresStore::Erase(std::string_view key) {
  const std::array<Param, 1> params{Param(key)};
  auto result = impl_->Run("jeff_erase", params);
  if (!result) return result.error();
  return {};
}

Result<void> PostgresStore::ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) {
  if (page == 0) return Errc::kInvalidArgument;
  std::array<char, 8> limit;
  PutBigEndian(static_cast<std::int64_t>(std::min<std::size_t>(page, INT64_MAX)), limit);
  std::string from(prefix);
  std::vector<std::string> keys;
  for (;;) {
    const std::array<Param, 3> params{Param(from), Param(prefix), Param(limit.data(), limit.size())};
    auto result = impl_->Run("jeff_keys", params);
    if (!result) return result.error();
    pg_result* r = result->get();
    if (PQnfields(r) != 1) return Errc::kStoreProtocol;
    const int rows = PQntuples(r);
    keys.clear();
    for (int i = 0; i < rows; ++i) keys.emplace_back(PQgetvalue(r, i, 0), static_cast<std::size_t>(PQgetlength(r, i, 0)));
    if (!keys.empty()) {
      if (auto visited = visit(keys); !visited) return visited;
    }
    if (static_cast<std::size_t>(rows) < page) return {};
    // The least text after the last key ("C" order; text holds no NUL).
    from = keys.back() + '\x01';
  }
}

Result<std::size_t> PostgresStore::Sweep() { return impl_->SweepNow(); }

}  // namespace jeff
