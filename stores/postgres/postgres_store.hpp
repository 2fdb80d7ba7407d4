#pragma once
/// \file
/// The PostgreSQL session store (library jeff-postgres, libpq underneath).
///
/// One table holds every store key (schema: share/jeff/postgres-schema.sql,
/// or PostgresSchemaSql()):
///
///     key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL,
///     version bigint NOT NULL, expires_at timestamptz NOT NULL
///
/// plus the sequence `<table>_version` and an index on `expires_at`. Fetch
/// is one `SELECT` of a live row. CompareAndSwap is one statement with `$1`
/// the key, `$2` the value and `$3` the TTL in ms: for an expected version,
/// `UPDATE ... WHERE key = $1 AND version = $4 AND <live>` with `$4` that
/// version; for "must be absent", `INSERT ... ON CONFLICT (key) DO UPDATE
/// ... WHERE t.expires_at <= clock_timestamp()`, which takes over an
/// expired row. Erase is one `DELETE`. Versions come from one sequence, so
/// a key that is erased and written again never repeats a version (no ABA).
/// Expiry uses the database server's clock (`clock_timestamp()`), so
/// application servers with skewed clocks agree; expired rows are invisible
/// at once and deleted by a bounded periodic sweep.

#include <jeff/export.hpp>
#include <jeff/key_listing.hpp>
#include <jeff/store.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace jeff {

/// Configuration of PostgresStore. Validated by the constructor.
struct PostgresStoreOptions {
  /// libpq connection string: a URI (`postgresql://user:password@host:port/db?sslmode=...`)
  /// or `key=value` pairs. Must not be empty. Host names are resolved by
  /// libpq synchronously; give an IP address to keep connects within
  /// `connect_timeout` when DNS may stall.
  std::string conninfo;
  /// The table (optionally `schema.table`): letters, digits and `_`, at
  /// most 48 characters per part. Its version sequence is `<table>_version`.
  std::string table = "jeff_sessions";
  /// Create the table, its sequence and its index (`IF NOT EXISTS`, under an
  /// advisory lock) on the first connection. false: they must exist.
  bool create_table = false;
  /// Longest wait for a new connection (TCP, TLS if any, authentication,
  /// preparing the statements). Must be > 0.
  std::chrono::milliseconds connect_timeout{2000};
  /// Longest wait for the answer to one call; then kStoreTimeout and the
  /// connection is closed. Also set as the session's `statement_timeout`,
  /// so the server abandons the statement too. Must be > 0.
  std::chrono::milliseconds command_timeout{1000};
  /// Connections. 0: unbounded.
  std::size_t pool_size = 16;
  /// Longest wait for a connection when `pool_size` are in use; then
  /// kStoreTimeout. 0: fail at once.
  std::chrono::milliseconds pool_timeout{1000};
  /// A pooled connection idle for longer than this is checked (one poll(2))
  /// before use, so that one the server closed is replaced instead of
  /// failing a call. 0: check always.
  std::chrono::milliseconds idle_check_after{1000};
  /// After a failed connect, calls fail fast (with that failure) for this
  /// long before the next attempt; the wait doubles up to the maximum.
  /// 0: try to connect on every call.
  std::chrono::milliseconds reconnect_backoff_min{50};
  /// Upper bound of the reconnect back-off (>= the minimum).
  std::chrono::milliseconds reconnect_backoff_max{2000};
  /// How often a background thread deletes expired rows. 0: never (the
  /// rows stay invisible; delete them yourself).
  std::chrono::milliseconds sweep_interval{std::chrono::seconds(60)};
  /// Rows deleted per sweep statement (a sweep repeats until fewer are
  /// left), so that no statement holds locks for long. Must be > 0.
  std::size_t sweep_batch = 1000;
  /// Largest value accepted (Errc::kValueTooLarge beyond). At most 1 GiB
  /// (PostgreSQL's bytea limit).
  std::size_t max_value_bytes = 1 << 20;
};

/// The statements that create `table` (a valid table name, see
/// PostgresStoreOptions::table), its version sequence and its expiry index;
/// idempotent (`IF NOT EXISTS`). The installed postgres-schema.sql is this
/// for "jeff_sessions". Throws std::invalid_argument for an invalid name.
JEFF_API std::string PostgresSchemaSql(std::string_view table);

/// A Store on PostgreSQL (libpq). Thread-safe: every call borrows its own
/// connection from a pool (never used by two threads at once), and a
/// connection that timed out or failed mid-statement is closed, never reused.
///
/// Failures: refused/reset/closed connection, authentication failure, a
/// server shutting down or in recovery (read-only), a missing table ->
/// Errc::kStoreUnavailable; no answer within `command_timeout` (or the
/// server's `statement_timeout`), no free connection within `pool_timeout`
/// -> Errc::kStoreTimeout; a result of the wrong shape or another SQL error
/// -> Errc::kStoreProtocol.
class JEFF_API PostgresStore final : public Store, public KeyListing {
 public:
  /// Validates `options` (std::invalid_argument naming the field, or libpq's
  /// complaint about the connection string, never with its password).
  /// Connects lazily: a server that is down is reported by the calls.
  explicit PostgresStore(PostgresStoreOptions options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Result<std::optional<Versioned>> Fetch(std::string_view key) override;
  Result<std::optional<Version>> FetchInto(std::string_view key, std::string& value) override;
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                              std::string_view value, std::chrono::milliseconds ttl) override;
  Result<void> Erase(std::string_view key) override;
  /// KeyListing: keyset pages in key order, each one `SELECT key ... WHERE
  /// key >= <after the last key> AND starts_with(key, prefix) ... ORDER BY
  /// key LIMIT page` on the primary key's index (the last page reads on to
  /// the end of the index); live rows only. Failures as for every call.
  Result<void> ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) override;

  /// Deletes expired rows now, at most `sweep_batch` per statement, until
  /// none are left; returns how many. The background sweep calls this.
  Result<std::size_t> Sweep();

 private:
  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

/// A PostgresStore from a `postgres://` or `postgresql://` URL in libpq's URI
/// syntax. jeff's own query options (`table`, `create_table=0|1`, `timeout`,
/// `pool_timeout` and `sweep_interval` as durations such as `500ms` or `2s`,
/// `pool_size`, `sweep_batch`, `max_value_bytes`) are taken out;
/// `connect_timeout` is whole seconds (1..3600) as in libpq, which gets it
/// too; the rest (`sslmode`, `application_name`, ...) go to libpq unchanged,
/// as do several hosts (`h1:p1,h2:p2`): with `target_session_attrs=read-write`
/// broken connections are reopened on whichever host is the primary.
/// Throws std::invalid_argument (without the password).
JEFF_API std::shared_ptr<Store> MakePostgresStore(std::string_view url);

}  // namespace jeff
