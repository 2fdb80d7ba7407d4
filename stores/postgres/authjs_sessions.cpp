#include <jeff/stores/postgres/authjs_sessions.hpp>

#include <jeff/cookie.hpp>

#include "stores/detail/connection_pool.hpp"
#include "stores/postgres/connection.hpp"

#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace jeff {
namespace {

using postgres_detail::Connection;
using postgres_detail::Deadline;
using postgres_detail::Param;
using postgres_detail::PgResult;
using postgres_detail::SteadyClock;
using Pool = store_detail::ConnectionPool<Connection>;

constexpr std::size_t kMaxIdentifier = 63;  // PostgreSQL's NAMEDATALEN - 1

[[noreturn]] void Fail(const std::string& what) {
  throw std::invalid_argument("AuthJsDatabaseOptions: " + what);
}

// `name` double-quoted (case kept), after validation; `schema.table` when
// `dotted`. Quoting is safe because the characters are restricted.
std::string Quoted(std::string_view field, std::string_view name, bool dotted) {
  const std::size_t dot = dotted ? name.find('.') : std::string_view::npos;
  if (dot != std::string_view::npos) {
    return Quoted(field, name.substr(0, dot), false) + "." + Quoted(field, name.substr(dot + 1), false);
  }
  if (!postgres_detail::IsPlainIdentifier(name, kMaxIdentifier)) {
    Fail(std::string(field) + " must be " + (dotted ? "[schema.]name" : "a name") +
         " of letters, digits and _ (at most 63 each), got '" + std::string(name) + "'");
  }
  // Built by appends: GCC 12 at -O3 warns (-Wrestrict, a false positive)
  // on "\"" + std::string(name) after inlining.
  std::string quoted;
  quoted.reserve(name.size() + 2);
  quoted.append(1, '"').append(name).append(1, '"');
  return quoted;
}

void Validate(const AuthJsDatabaseOptions& o) {
  if (o.conninfo.empty()) Fail("conninfo is empty");
  if (auto problem = postgres_detail::ConninfoProblem(o.conninfo)) Fail("invalid connection string: " + *problem);
  if (o.cookie_names.empty()) Fail("cookie_names is empty");
  for (const std::string& name : o.cookie_names) {
    CookieOptions cookie;
    cookie.name = name;
    try {
      ValidateCookieOptions(cookie);
    } catch (const std::invalid_argument&) {
      Fail("cookie_names: '" + name + "' is not a valid cookie name");
    }
  }
  if (o.max_token_bytes == 0) Fail("max_token_bytes must be > 0");
  if (o.connect_timeout.count() <= 0) Fail("connect_timeout must be > 0");
  if (o.command_timeout.count() <= 0) Fail("command_timeout must be > 0");
  if (o.pool_timeout.count() < 0) Fail("pool_timeout must be >= 0");
  if (o.reconnect_backoff_min.count() < 0 || o.reconnect_backoff_max < o.reconnect_backoff_min) {
    Fail("reconnect_backoff_min must be >= 0 and <= reconnect_backoff_max");
  }
}

std::int64_t GetInt64(const char* p) { return static_cast<std::int64_t>(postgres_detail::ReadBigEndian64(p)); }

std::string Text(pg_result* r, int row, int column) {
  return std::string(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
}

std::optional<std::string> NullableText(pg_result* r, int row, int column) {
  if (PQgetisnull(r, row, column) != 0) return std::nullopt;
  return Text(r, row, column);
}

bool IsBigint(pg_result* r, int row, int column) {
  return PQgetisnull(r, row, column) == 0 && PQgetlength(r, row, column) == 8;
}

// The session cookie Check reads: the first of `names` present in `header`.
std::optional<std::string_view> SessionCookie(const std::vector<std::string>& names, std::string_view header) {
  for (const std::string& name : names) {
    if (auto value = FindCookie(header, name)) return value;
  }
  return std::nullopt;
}

}  // namespace

struct AuthJsDatabaseSessions::Impl {
  explicit Impl(AuthJsDatabaseOptions o) : options(std::move(o)), pool(Opener(), PoolOpts()) {
    const std::string sessions = Quoted("sessions_table", options.sessions_table, true);
    const std::string users = Quoted("users_table", options.users_table, true);
    const std::string token = Quoted("token_column", options.token_column, false);
    const std::string user_id = Quoted("user_id_column", options.user_id_column, false);
    const std::string expires = Quoted("expires_column", options.expires_column, false);
    const std::string users_id = Quoted("users_id_column", options.users_id_column, false);
    const std::string email = Quoted("email_column", options.email_column, false);
    const std::string name = Quoted("name_column", options.name_column, false);
    const std::string millis = "(extract(epoch FROM s." + expires + ") * 1000)::bigint";
    const std::string public_id = "left(encode(sha256(convert_to(s." + token + "::text, 'UTF8')), 'hex'), 16)";
    statements = {
        postgres_detail::Statement{
            "authjs_check",
            "SELECT s." + user_id + "::text, u." + email + "::text, u." + name + "::text, " + millis + ", s." +
                expires + " > clock_timestamp(), " + public_id + " FROM " + sessions + " s JOIN " + users +
                " u ON u." + users_id + " = s." + user_id + " WHERE s." + token + " = $1::text ORDER BY s." +
                expires + " DESC LIMIT 1",
            1},
        postgres_detail::Statement{"authjs_clear", "DELETE FROM " + sessions + " WHERE " + token + " = $1::text", 1},
        postgres_detail::Statement{"authjs_delete",
                                   "DELETE FROM " + sessions + " WHERE " + user_id + "::text = $1::text", 1},
        postgres_detail::Statement{"authjs_list",
                                   "SELECT s." + user_id + "::text, " + millis + ", " + public_id + " FROM " +
                                       sessions + " s WHERE s." + user_id + "::text = $1::text AND s." + expires +
                                       " > clock_timestamp() ORDER BY s." + expires + ", 3",
                                   1},
    };
  }

  Pool::Opener Opener() {
    return [this]() -> Result<std::unique_ptr<Connection>> {
      const Deadline deadline = SteadyClock::now() + options.connect_timeout;
      // UTC: `timestamp without time zone` columns (Prisma, Drizzle) hold UTC.
      return Connection::Open(options.conninfo, options.command_timeout, "SET TIME ZONE 'UTC'", statements,
                              deadline);
    };
  }

  store_detail::PoolOptions PoolOpts() const {
    store_detail::PoolOptions p;
    p.size = options.pool_size;
    p.wait_timeout = options.pool_timeout;
    p.backoff_min = options.reconnect_backoff_min;
    p.backoff_max = options.reconnect_backoff_max;
    return p;
  }

  Result<PgResult> Run(const char* statement, std::string_view param) {
    const std::array<Param, 1> params{Param(param)};
    return postgres_detail::RunPooled(pool, statement, params, options.command_timeout);
  }

  // A token worth looking up: non-empty, not too long, cookie octets only.
  bool Plausible(std::string_view token) const {
    return !token.empty() && token.size() <= options.max_token_bytes && IsCookieValue(token);
  }

  // (Field order matters: `pool` uses `options`; the statements exist
  // before the first connection is opened.)
  const AuthJsDatabaseOptions options;
  std::vector<postgres_detail::Statement> statements;
  Pool pool;
};

AuthJsDatabaseSessions::AuthJsDatabaseSessions(AuthJsDatabaseOptions options) {
  Validate(options);
  impl_ = std::make_unique<Impl>(std::move(options));
}

AuthJsDatabaseSessions::~AuthJsDatabaseSessions() = default;

AuthJsCheckResult AuthJsDatabaseSessions::Check(std::string_view cookie_header) {
  AuthJsCheckResult out;
  const auto token = SessionCookie(impl_->options.cookie_names, cookie_header);
  if (!token) return out;
  if (!impl_->Plausible(*token)) {
    out.status = CheckStatus::kMalformed;
    return out;
  }
  auto result = impl_->Run("authjs_check", *token);
  if (!result) {
    out.status = CheckStatus::kStoreError;
    out.error = result.error();
    return out;
  }
  pg_result* r = result->get();
  if (PQntuples(r) == 0) {
    out.status = CheckStatus::kUnknown;
    return out;
  }
  if (PQnfields(r) != 6 || PQgetisnull(r, 0, 0) != 0 || !IsBigint(r, 0, 3) || PQgetlength(r, 0, 4) != 1) {
    out.status = CheckStatus::kStoreError;
    out.error = make_error_code(Errc::kStoreProtocol);
    return out;
  }
  if (PQgetvalue(r, 0, 4)[0] == 0) {
    out.status = CheckStatus::kExpired;
    return out;
  }
  out.status = CheckStatus::kOk;
  out.session.user_id = Text(r, 0, 0);
  out.session.email = NullableText(r, 0, 1);
  out.session.name = NullableText(r, 0, 2);
  out.session.expires = FromUnixMillis(GetInt64(PQgetvalue(r, 0, 3)));
  out.session.id = Text(r, 0, 5);
  return out;
}

Result<std::vector<std::string>> AuthJsDatabaseSessions::Clear(std::string_view cookie_header) {
  const auto token = SessionCookie(impl_->options.cookie_names, cookie_header);
  if (token && impl_->Plausible(*token)) {
    auto deleted = impl_->Run("authjs_clear", *token);
    if (!deleted) return deleted.error();
  }
  std::vector<std::string> set_cookie;
  for (const std::string& name : impl_->options.cookie_names) {
    if (!FindCookie(cookie_header, name)) continue;
    CookieOptions cookie;
    cookie.name = name;
    cookie.secure = name.starts_with("__Secure-") || name.starts_with("__Host-");
    set_cookie.push_back(BuildExpiredCookie(cookie, name));
  }
  return set_cookie;
}

Result<std::size_t> AuthJsDatabaseSessions::Delete(std::string_view user_id) {
  if (user_id.empty()) return Errc::kInvalidArgument;
  auto deleted = impl_->Run("authjs_delete", user_id);
  if (!deleted) return deleted.error();
  return static_cast<std::size_t>(std::strtoull(PQcmdTuples(deleted->get()), nullptr, 10));
}

Result<std::vector<AuthJsSession>> AuthJsDatabaseSessions::SessionsForKey(std::string_view user_id) {
  if (user_id.empty()) return Errc::kInvalidArgument;
  auto result = impl_->Run("authjs_list", user_id);
  if (!result) return result.error();
  pg_result* r = result->get();
  if (PQnfields(r) != 3) return Errc::kStoreProtocol;
  std::vector<AuthJsSession> sessions;
  sessions.reserve(static_cast<std::size_t>(PQntuples(r)));
  for (int row = 0; row < PQntuples(r); ++row) {
    if (PQgetisnull(r, row, 0) != 0 || !IsBigint(r, row, 1)) return Errc::kStoreProtocol;
    AuthJsSession s;
    s.user_id = Text(r, row, 0);
    s.expires = FromUnixMillis(GetInt64(PQgetvalue(r, row, 1)));
    s.id = Text(r, row, 2);
    sessions.push_back(std::move(s));
  }
  return sessions;
}

}  // namespace jeff
