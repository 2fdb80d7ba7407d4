// MakePostgresStore: PostgresStoreOptions from a postgres:// URL, jeff's own
// query options taken out and the rest left to libpq.

#include <jeff/store_url.hpp>
#include <jeff/stores/postgres/postgres_store.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace jeff {
namespace {

constexpr std::string_view kJeffParams[] = {"table", "create_table", "connect_timeout", "timeout",
                                            "pool_size", "pool_timeout", "sweep_interval",
                                            "sweep_batch", "max_value_bytes"};

bool IsJeffParam(std::string_view name) {
  for (std::string_view p : kJeffParams) {
    if (name == p) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<Store> MakePostgresStore(std::string_view url) {
  if (!url.starts_with("postgres://") && !url.starts_with("postgresql://")) {
    throw std::invalid_argument("not a PostgreSQL URL: " + RedactStoreUrl(url));
  }
  const std::size_t q = url.find('?');
  std::string libpq(url.substr(0, q));
  std::string ours = "postgres://?";
  if (q != std::string_view::npos) {
    std::string_view query = url.substr(q + 1);
    char libpq_sep = '?';
    char our_sep = '\0';
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (item.empty()) continue;
      if (IsJeffParam(item.substr(0, item.find('=')))) {
        if (our_sep != '\0') ours += our_sep;
        ours.append(item);
        our_sep = '&';
      } else {
        libpq += libpq_sep;
        libpq.append(item);
        libpq_sep = '&';
      }
    }
  }
  auto parsed = ParseStoreUrl(ours);
  if (!parsed) throw std::invalid_argument("invalid jeff options in " + RedactStoreUrl(url));
  const StoreUrl& u = *parsed;

  PostgresStoreOptions o;
  o.conninfo = std::move(libpq);
  if (auto table = u.Param("table")) o.table = std::string(*table);
  o.create_table = u.IntParam("create_table", 0, 0, 1) == 1;
  // libpq's own meaning: whole seconds. It is also left to libpq.
  if (u.Param("connect_timeout")) {
    const std::int64_t seconds = u.IntParam("connect_timeout", 0, 1, 3600);
    o.connect_timeout = std::chrono::seconds(seconds);
    o.conninfo += (o.conninfo.find('?') == std::string::npos ? '?' : '&');
    o.conninfo += "connect_timeout=" + std::to_string(seconds);
  }
  // At least 1ms, checked here so that the message names ?timeout.
  o.command_timeout = u.DurationParam("timeout", o.command_timeout, std::chrono::milliseconds(1));
  o.pool_timeout = u.DurationParam("pool_timeout", o.pool_timeout);
  o.sweep_interval = u.DurationParam("sweep_interval", o.sweep_interval);
  o.pool_size = static_cast<std::size_t>(u.IntParam("pool_size", 16, 0, 1 << 16));
  o.sweep_batch = static_cast<std::size_t>(u.IntParam("sweep_batch", 1000, 1, 1 << 20));
  o.max_value_bytes = static_cast<std::size_t>(u.IntParam(
      "max_value_bytes", static_cast<std::int64_t>(o.max_value_bytes), 1, std::int64_t{1} << 30));
  return std::make_shared<PostgresStore>(std::move(o));  // validates the rest, with libpq
}

}  // namespace jeff
