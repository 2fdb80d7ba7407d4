#pragma once
// Internal to jeff-redis (never installed): one connection to one Redis
// server. A Connection belongs to one thread at a time (the pool hands it
// out); after any I/O failure it is broken() and must be discarded, because
// a reply may still be in flight and would be read as the next command's.

#include "socket_wait.hpp"

#include <jeff/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct redisContext;
struct redisReply;

namespace jeff::redis_detail {

class TlsContext;
class TlsStream;

/// Frees a hiredis reply tree.
struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept;
};
/// An owned hiredis reply.
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

/// One command as its arguments, each binary-safe.
using Command = std::span<const std::string_view>;

/// Frees a command FormatCommand formatted.
struct FormattedDeleter {
  void operator()(char* p) const noexcept;
};
/// A command in RESP, owned (malloc'd).
using Formatted = std::unique_ptr<char, FormattedDeleter>;

/// Appends the RESP encoding of `command` (an array of bulk strings, each
/// binary-safe, byte for byte what hiredis' redisFormatCommandArgv makes) to
/// `out`, which is left as it was on failure. Errc::kInvalidArgument for no
/// argument or too many (8 at most), Errc::kValueTooLarge when a length
/// overflows an int (hiredis' limit, kept).
Result<void> WriteCommand(Command command, std::string& out);

/// WriteCommand into a buffer of its own, kept alive by `storage`: a view of
/// it. Same errors.
Result<std::string_view> FormatCommand(Command command, Formatted& storage);

/// A server address.
struct Endpoint {
  std::string host;
  std::uint16_t port = 6379;
  /// "host:port" ("[v6]:port" for IPv6 literals), the key of a node.
  std::string ToString() const;
  bool operator==(const Endpoint&) const = default;
};

/// How new connections are made and greeted.
struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{1000};  ///< TCP connect plus AUTH/SELECT
  std::chrono::seconds keepalive{15};               ///< 0: no TCP keepalive
  std::string username;                             ///< empty: AUTH <password>
  std::string password;                             ///< empty: no AUTH
  int db = 0;                                       ///< 0: no SELECT
  /// The longest a single blocking read waits before the deadline is looked
  /// at again (SO_RCVTIMEO), so a call may overrun its deadline by at most
  /// this. Replies are read by blocking recv(2) with this timeout instead of
  /// poll(2) + recv(2): one system call per read, not two.
  std::chrono::milliseconds read_slice{25};
  /// TLS for this connection (handshake within connect_timeout). nullptr:
  /// plain TCP.
  std::shared_ptr<const TlsContext> tls;
};

/// An open connection (RAII over redisContext).
class Connection {
 public:
  /// Connects to `endpoint` (and with options.tls runs the TLS handshake)
  /// and sends AUTH / SELECT, all within options.connect_timeout. Errors:
  /// kStoreUnavailable (connection refused, reset, certificate refused,
  /// LOADING), kStoreRefused (AUTH or SELECT rejected), kStoreTimeout,
  /// kStoreProtocol; connect and AUTH/SELECT failures note their reason
  /// (NoteError: the address, the step, the server's text).
  static Result<std::unique_ptr<Connection>> Open(const Endpoint& endpoint,
                                                  const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends `commands` in one write and reads one reply per command into
  /// `replies` (same size), all before `deadline`. Error replies are replies,
  /// not failures. Fails with kStoreTimeout (deadline), kStoreUnavailable
  /// (EOF, reset) or kStoreProtocol (unparsable reply, or bytes left over
  /// after the last expected reply); after a failure the
  /// connection is broken(), except when the deadline had passed before
  /// anything was sent.
  Result<void> Exchange(std::span<const Command> commands, std::span<Reply> replies,
                        Deadline deadline);

  /// True after a failure that left the connection in an unknown state.
  bool broken() const noexcept { return broken_; }

  /// False when the server closed the connection (or sent anything) while it
  /// sat idle in the pool. One poll(2) with timeout 0.
  bool IdleAndOpen() const noexcept;

  /// When the last exchange on this connection completed.
  SteadyClock::time_point last_used() const noexcept { return last_used_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const noexcept;
  };
  explicit Connection(redisContext* context) noexcept;
  Result<void> SendAll(std::string_view bytes, Deadline deadline);
  Result<Reply> ReadReply(Deadline deadline);
  std::error_code Break(std::error_code error) noexcept;

  std::unique_ptr<redisContext, ContextDeleter> context_;
  std::unique_ptr<TlsStream> tls_;  // on context_'s socket; freed first
  std::string out_;                 // the commands of an exchange (capacity kept)
  bool broken_ = false;
  SteadyClock::time_point last_used_{};
};

/// The jeff error for an error reply (`-LOADING ...`, `-WRONGTYPE ...`);
/// NOAUTH, WRONGPASS and NOPERM are kStoreRefused. The server's text is
/// noted as the reason (NoteError) whatever the code.
std::error_code ErrorFromReply(const redisReply& reply) noexcept;

/// The error for an error reply to the greeting's `step` ("AUTH",
/// "SELECT 3") at `endpoint`: kStoreRefused, unless the server is in a
/// passing state (LOADING...: kStoreUnavailable). Sets `reason` to
/// "<endpoint>: <step>: <the server's text, `password` hidden>" and notes
/// it (NoteError).
std::error_code GreetingError(const redisReply& reply, const Endpoint& endpoint,
                              std::string_view step, std::string_view password,
                              std::string& reason);

/// A server's reply `text` with `password` (and any quoted piece of it)
/// hidden, through RedactStoreMessage.
std::string RedactReply(std::string_view text, std::string_view password);

/// The reply's text (string, status or error), empty for other types.
std::string_view ReplyText(const redisReply& reply) noexcept;

/// True when `reply` is an error reply whose text starts with `prefix`.
bool IsErrorReply(const redisReply& reply, std::string_view prefix) noexcept;

}  // namespace jeff::redis_detail
