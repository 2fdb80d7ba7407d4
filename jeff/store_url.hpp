#pragma once
/// \file
/// Parsing of store URLs (`memory://`, `redis://[:password@]host:port[/db]`,
/// `redis+cluster://h1:p1,h2:p2`, `memcached://h1:p1,h2:p2`, each with
/// `?name=value&...` options). Generic: the core knows no store; the store
/// libraries read the fields they understand.

#include <jeff/export.hpp>
#include <jeff/result.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jeff {

/// A parsed store URL. Text fields are percent-decoded.
struct StoreUrl {
  /// One `host[:port]` of the authority; IPv6 literals are given in brackets
  /// in the URL and stored without them.
  struct Host {
    std::string host;        ///< name or IP literal, percent-decoded
    std::uint16_t port = 0;  ///< 0: not given (the store picks its default)
    bool operator==(const Host&) const = default;
  };

  std::string scheme;    ///< lower-case, e.g. "redis+cluster"
  std::string username;  ///< empty when absent
  std::optional<std::string> password;  ///< std::nullopt when absent
  std::vector<Host> hosts;  ///< comma-separated authority; may be empty (memory://)
  std::string path;         ///< after the authority, without the leading '/'
  std::vector<std::pair<std::string, std::string>> query;  ///< in URL order

  /// The value of query option `name` (the last one when repeated), or
  /// std::nullopt when absent.
  JEFF_API std::optional<std::string_view> Param(std::string_view name) const noexcept;

  /// Query option `name` as an integer in [min, max], or `fallback` when
  /// absent. Throws std::invalid_argument naming the option otherwise.
  JEFF_API std::int64_t IntParam(std::string_view name, std::int64_t fallback, std::int64_t min,
                                 std::int64_t max) const;

  /// Query option `name` as a duration: a number with unit `ms` or `s`
  /// (a bare number is milliseconds), or `fallback` when absent. Throws
  /// std::invalid_argument naming the option (`?name=value`) for anything
  /// else or a value below `min`.
  JEFF_API std::chrono::milliseconds DurationParam(
      std::string_view name, std::chrono::milliseconds fallback,
      std::chrono::milliseconds min = std::chrono::milliseconds(0)) const;

  /// Throws std::invalid_argument naming the first query option not in `known`,
  /// so that a typo in a deployment's URL fails at start-up.
  JEFF_API void RequireKnownParams(std::initializer_list<std::string_view> known) const;
};

/// Parses `url`. Errc::kInvalidArgument when it is not `scheme://...` with a
/// valid authority, port (1-65535), percent-encoding and query; the reason
/// (e.g. "port 70000 is out of range (1-65535)") is noted on this thread
/// (ErrorDetail).
JEFF_API Result<StoreUrl> ParseStoreUrl(std::string_view url);

/// `url` with every secret replaced by "***", for logs and error messages:
/// the password of its userinfo and the values of query options named
/// `*password`, `pass`, `secret`, `token` or `auth`. A text without "://" is
/// read as libpq's `key=value` connection string (`password=...`, quoted or
/// not). Never throws but std::bad_alloc; a URL that does not parse is
/// redacted all the same (its userinfo runs to the last '@').
JEFF_API std::string RedactStoreUrl(std::string_view url);

/// `message`, which a client library or a server wrote about `url` (a store
/// URL or a libpq connection string), made safe to show: `url` itself
/// appears redacted (RedactStoreUrl), each of its secrets (as written and
/// percent-decoded) is replaced by "***", and so is any double-quoted
/// fragment that is part of a secret. Every error, log line and exception
/// that may quote a URL or connection string goes through this or
/// RedactStoreUrl.
JEFF_API std::string RedactStoreMessage(std::string_view message, std::string_view url);

}  // namespace jeff
