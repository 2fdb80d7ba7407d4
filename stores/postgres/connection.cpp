#include "connection.hpp"

#include <jeff/store_url.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <string>
#include <vector>

namespace jeff::postgres_detail {
namespace {

// Waits until `fd` is ready for `events` (or has an error, which the next
// libpq call then reports). False when the deadline passed first.
bool WaitReady(int fd, short events, Deadline deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let libpq see and report it
  }
}

// libpq's multi-line message on one line, without the trailing newline.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A failed connect: refused when the server answered with a FATAL error
// (authentication, no such role or database, no pg_hba.conf entry), unless
// that error is a passing state (starting up, shutting down, in recovery,
// out of connection slots); libpq keeps no SQLSTATE for a connect, so its
// message tells. The message is noted as the reason, redacted.
std::error_code ConnectFailure(std::string_view message, const std::string& conninfo) {
  const bool answered = message.find("FATAL:") != std::string_view::npos;
  bool passing = false;
  for (std::string_view state : {"the database system is", "too many clients", "connection slots",
                                 "terminating connection"}) {
    passing = passing || message.find(state) != std::string_view::npos;
  }
  const Errc code = answered && !passing ? Errc::kStoreRefused : Errc::kStoreUnavailable;
  return NoteError(code, RedactStoreMessage(OneLine(message), conninfo));
}

}  // namespace

void ResultDeleter::operator()(pg_result* result) const noexcept { PQclear(result); }
void Connection::ConnDeleter::operator()(pg_conn* conn) const noexcept { PQfinish(conn); }

Connection::Connection(pg_conn* conn) noexcept : conn_(conn), last_used_(SteadyClock::now()) {}
Connection::~Connection() = default;

std::error_code Connection::Break(std::error_code error) noexcept {
  broken_ = true;
  return error;
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                     std::chrono::milliseconds statement_timeout,
                                                     std::string_view setup_sql,
                                                     std::span<const Statement> statements,
                                                     Deadline deadline) {
  pg_conn* raw = PQconnectStart(conninfo.c_str());
  if (raw == nullptr) return Errc::kStoreUnavailable;
  std::unique_ptr<Connection> conn(new Connection(raw));
  if (PQstatus(raw) == CONNECTION_BAD) return Errc::kStoreUnavailable;
  // libpq prints server notices (e.g. "relation already exists, skipping"
  // from the schema's IF NOT EXISTS) to stderr by default: a library must
  // not write to the application's stderr.
  PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
  // libpq's documented loop: after PQconnectStart, act as if the last poll
  // said "writing".
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return ConnectFailure(PQerrorMessage(raw), conninfo);
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!WaitReady(PQsocket(raw), events, deadline)) return Errc::kStoreTimeout;
    state = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) return Errc::kStoreUnavailable;
  // Server-side bound of every statement: the server gives up when we do.
  const std::string session =
      "SET statement_timeout = " + std::to_string(statement_timeout.count());
  if (auto set = conn->Simple(session, deadline); !set) return set.error();
  if (!setup_sql.empty()) {
    if (auto setup = conn->Simple(std::string(setup_sql), deadline); !setup) return setup.error();
  }
  for (const Statement& s : statements) {
    if (PQsendPrepare(raw, s.name, s.sql.c_str(), s.params, nullptr) != 1) {
      return Errc::kStoreUnavailable;
    }
    if (auto prepared = conn->Finish(deadline); !prepared) return prepared.error();
  }
  return conn;
}

Result<void> Connection::Simple(const std::string& sql, Deadline deadline) {
  if (PQsendQuery(conn_.get(), sql.c_str()) != 1) return Break(make_error_code(Errc::kStoreUnavailable));
  auto done = Finish(deadline);
  if (!done) return done.error();
  return {};
}

Result<PgResult> Connection::Execute(const char* name, std::span<const Param> params,
                                     Deadline deadline) {
  if (broken_) return Errc::kStoreUnavailable;
  constexpr std::size_t kMaxParams = 8;
  if (params.size() > kMaxParams) return Errc::kInvalidArgument;
  const char* values[kMaxParams];
  int lengths[kMaxParams];
  int formats[kMaxParams];
  for (std::size_t i = 0; i < params.size(); ++i) {
    // Binary parameters: libpq sends exactly `lengths[i]` bytes, so views
    // need no NUL terminator (text parameters would).
    values[i] = params[i].data();
    lengths[i] = static_cast<int>(params[i].size());
    formats[i] = 1;
  }
  if (PQsendQueryPrepared(conn_.get(), name, static_cast<int>(params.size()), values, lengths,
                          formats, /*resultFormat=*/1) != 1) {
    return Break(make_error_code(Errc::kStoreUnavailable));
  }
  return Finish(deadline);
}

Result<PgResult> Connection::Finish(Deadline deadline) {
  pg_conn* c = conn_.get();
  const int fd = PQsocket(c);
  // Send what libpq buffered; while the socket is full, read too (the server
  // may be waiting for us to read before it reads more).
  for (;;) {
    const int flushed = PQflush(c);
    if (flushed == 0) break;
    if (flushed < 0) return Break(make_error_code(Errc::kStoreUnavailable));
    if (!WaitReady(fd, POLLIN | POLLOUT, deadline)) return Break(make_error_code(Errc::kStoreTimeout));
    if (PQconsumeInput(c) != 1) return Break(make_error_code(Errc::kStoreUnavailable));
  }
  PgResult kept;
  std::error_code error;
  for (;;) {
    while (PQisBusy(c) == 0) {
      PgResult result(PQgetResult(c));
      if (!result) {
        // The command is complete.
        if (PQstatus(c) == CONNECTION_BAD) return Break(make_error_code(Errc::kStoreUnavailable));
        if (error) return error;
        if (!kept) return Break(make_error_code(Errc::kStoreProtocol));
        last_used_ = SteadyClock::now();
        return kept;
      }
      switch (PQresultStatus(result.get())) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
          kept = std::move(result);
          break;
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR: {
          const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
          // No SQLSTATE: libpq's own report of a lost connection.
          if (!error) {
            error = state != nullptr ? ErrorFromSqlState(state)
                                     : make_error_code(Errc::kStoreUnavailable);
            NoteError(error, OneLine(PQresultErrorMessage(result.get())));
          }
          break;
        }
        default:  // COPY and the like: nothing jeff sends starts them
          return Break(make_error_code(Errc::kStoreProtocol));
      }
    }
    if (!WaitReady(fd, POLLIN, deadline)) return Break(make_error_code(Errc::kStoreTimeout));
    if (PQconsumeInput(c) != 1) return Break(make_error_code(Errc::kStoreUnavailable));
  }
}

bool Connection::IdleAndOpen() const noexcept {
  if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK) return false;
  pollfd p{PQsocket(conn_.get()), POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  // Readable while idle: EOF, or the server's notice that it is terminating
  // this session. Either way not worth keeping.
  return n == 0;
}

std::error_code ErrorFromSqlState(std::string_view sqlstate) noexcept {
  const std::string_view cls = sqlstate.substr(0, 2);
  if (sqlstate == "57014") return make_error_code(Errc::kStoreTimeout);  // statement_timeout
  // Connection exceptions, operator intervention (shutdown, cannot connect
  // now), insufficient resources, a read-only standby, serialization
  // failures: the store cannot serve now, and may later.
  for (std::string_view c : {"08", "57", "53", "40"}) {
    if (cls == c) return make_error_code(Errc::kStoreUnavailable);
  }
  if (sqlstate == "25006") return make_error_code(Errc::kStoreUnavailable);
  // Authorization, a missing database, schema or table, no privilege on
  // it: the server answers and refuses until its configuration changes.
  if (cls == "28" || cls == "3D" || cls == "3F" || sqlstate == "42P01" || sqlstate == "42501") {
    return make_error_code(Errc::kStoreRefused);
  }
  if (cls == "54") return make_error_code(Errc::kValueTooLarge);  // program limit exceeded
  return make_error_code(Errc::kStoreProtocol);
}

std::optional<std::string> ConninfoProblem(const std::string& conninfo) {
  char* message = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &message);
  if (parsed != nullptr) {
    PQconninfoFree(parsed);
    return std::nullopt;
  }
  std::string text = message != nullptr ? message : "out of memory";
  PQfreemem(message);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return RedactStoreMessage(text, conninfo);
}

bool IsPlainIdentifier(std::string_view name, std::size_t max_length) noexcept {
  if (name.empty() || name.size() > max_length) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::uint64_t ReadBigEndian64(const char* p) noexcept {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(p[i]);
  return u;
}

}  // namespace jeff::postgres_detail
