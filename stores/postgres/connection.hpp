#pragma once
// Internal to jeff-postgres (never installed): one libpq connection, used by
// one thread at a time (the pool hands it out). Every wait is bounded by a
// deadline (non-blocking libpq + poll(2)); after any I/O failure or timeout
// the connection is broken() and must be discarded, so that a late result is
// never read as the next statement's.

#include <jeff/result.hpp>

#include "stores/detail/connection_pool.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct pg_conn;
struct pg_result;

namespace jeff::postgres_detail {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

/// Frees a libpq result.
struct ResultDeleter {
  void operator()(pg_result* result) const noexcept;
};
/// An owned libpq result.
using PgResult = std::unique_ptr<pg_result, ResultDeleter>;

/// One parameter of a prepared statement, in PostgreSQL's binary format
/// (text: its bytes; bytea: the bytes; bigint: 8 bytes big-endian).
using Param = std::string_view;

/// A statement to prepare on every new connection.
struct Statement {
  const char* name;
  std::string sql;
  int params;
};

/// An open connection (RAII over PGconn).
class Connection {
 public:
  /// Connects with `conninfo`, sets `statement_timeout`, runs `setup_sql`
  /// (may be empty) and prepares `statements`, all before `deadline`.
  /// Errors: kStoreUnavailable (connection refused, reset, a server starting
  /// up or out of slots), kStoreRefused (authentication, no such role or
  /// database, a missing table when preparing), kStoreTimeout,
  /// kStoreProtocol; a server's or libpq's message is noted as the reason
  /// (NoteError, redacted).
  static Result<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                  std::chrono::milliseconds statement_timeout,
                                                  std::string_view setup_sql,
                                                  std::span<const Statement> statements,
                                                  Deadline deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs prepared statement `name` with `params` and returns its one result
  /// (columns in binary format) when it succeeded (PGRES_TUPLES_OK or
  /// PGRES_COMMAND_OK); an SQL error is mapped by ErrorFromSqlState.
  Result<PgResult> Execute(const char* name, std::span<const Param> params, Deadline deadline);

  /// True after a failure that left the connection in an unknown state.
  bool broken() const noexcept { return broken_; }
  /// False when the server closed the connection (or sent anything) while it
  /// sat idle in the pool. One poll(2) with timeout 0.
  bool IdleAndOpen() const noexcept;
  /// When the last statement on this connection completed.
  SteadyClock::time_point last_used() const noexcept { return last_used_; }

 private:
  struct ConnDeleter {
    void operator()(pg_conn* conn) const noexcept;
  };
  explicit Connection(pg_conn* conn) noexcept;
  // Sends what libpq buffered and collects the one result of the command
  // just sent (the following nullptr included), before `deadline`.
  Result<PgResult> Finish(Deadline deadline);
  Result<void> Simple(const std::string& sql, Deadline deadline);
  std::error_code Break(std::error_code error) noexcept;

  std::unique_ptr<pg_conn, ConnDeleter> conn_;
  bool broken_ = false;
  SteadyClock::time_point last_used_{};
};

/// The jeff error for a PostgreSQL SQLSTATE (five characters): connection,
/// operator-intervention, resource and serialization classes and read-only
/// transactions are kStoreUnavailable; authorization (28), a missing
/// database (3D), schema (3F) or table (42P01) and a missing privilege
/// (42501) are kStoreRefused; a cancelled statement (statement_timeout) is
/// kStoreTimeout; a value beyond PostgreSQL's limits kValueTooLarge;
/// anything else kStoreProtocol.
std::error_code ErrorFromSqlState(std::string_view sqlstate) noexcept;

/// libpq's complaint about `conninfo`, without the trailing newline and
/// through RedactStoreMessage (libpq quotes the token it cannot parse, which
/// may be the password, or the whole URI); std::nullopt when libpq can parse
/// it.
std::optional<std::string> ConninfoProblem(const std::string& conninfo);

/// True for 1..`max_length` letters, digits and `_` not starting with a
/// digit: a name that is safe in SQL text, quoted or not.
bool IsPlainIdentifier(std::string_view name, std::size_t max_length) noexcept;

/// A big-endian 64-bit integer (PostgreSQL's binary bigint) at `p`.
std::uint64_t ReadBigEndian64(const char* p) noexcept;

/// Runs prepared statement `name` on a connection borrowed from `pool`; the
/// whole call (the wait for a connection included) ends within `timeout`.
inline Result<PgResult> RunPooled(store_detail::ConnectionPool<Connection>& pool, const char* name,
                                  std::span<const Param> params, std::chrono::milliseconds timeout) {
  ClearErrorDetail();  // a failure of this call notes its own reason
  const Deadline deadline = SteadyClock::now() + timeout;
  auto lease = pool.Acquire();
  if (!lease) return lease.error();
  return (*lease)->Execute(name, params, deadline);
}

}  // namespace jeff::postgres_detail
