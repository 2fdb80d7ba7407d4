#pragma once
// Internal to jeff-redis-async (never installed): one pipelined,
// non-blocking connection to one Redis server on an Asio executor. Commands
// are queued as RESP bytes and written in batches (everything queued while
// the previous write was under way goes out in the next one); replies are
// matched to calls in order. A call that times out, an I/O error or an
// unparsable reply closes the connection and fails every call waiting on
// it, so a late reply can never be taken for another call's. The next call
// connects again (after a failed connect: once the back-off has passed).

#include "../connection.hpp"
#include "../socket_wait.hpp"

#include <jeff/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct redisReader;

namespace boost::asio::ssl {
class context;
}

namespace jeff::redis_detail {

/// How an AsyncConnection connects, greets and times out.
struct AsyncConnectOptions {
  Endpoint endpoint;                                ///< the server
  std::chrono::milliseconds connect_timeout{1000};  ///< TCP connect plus AUTH/SELECT
  std::chrono::milliseconds command_timeout{1000};  ///< per call, from when it can be sent
  std::chrono::seconds keepalive{15};               ///< 0: no TCP keepalive
  std::string username;                             ///< empty: AUTH <password>
  std::string password;                             ///< empty: no AUTH
  int db = 0;                                       ///< 0: no SELECT
  std::chrono::milliseconds backoff_min{50};        ///< fail fast this long after a failed connect
  std::chrono::milliseconds backoff_max{2000};      ///< the doubling back-off's ceiling
  /// TLS (the handshake within connect_timeout); null: plain TCP. Made from
  /// RedisStore's TLS context (same trust anchors and client certificate).
  std::shared_ptr<boost::asio::ssl::context> tls;
  /// With `tls`: the certificate is checked, for this name (empty: the
  /// endpoint's host; a name is also sent as SNI, an IP literal is not).
  bool tls_verify = true;
  std::string tls_server_name;
};

/// The replies to one call's commands, in order, and the call's deadline
/// (a follow-up command may share it).
struct Replies {
  static constexpr std::size_t kMax = 3;  ///< commands per call at most (ASKING, the command, WAIT)
  std::array<Reply, kMax> reply;
  std::size_t count = 0;
  Deadline deadline{};
};

/// Receives a call's replies, or why there are none.
using RepliesHandler = std::function<void(Result<Replies>)>;

/// Frees a hiredis reply reader.
struct ReaderDeleter {
  void operator()(redisReader* reader) const noexcept;
};

/// One connection (made and remade lazily). Used from the executor's thread
/// only; always held by a shared_ptr (its Asio handlers keep it alive).
class AsyncConnection : public std::enable_shared_from_this<AsyncConnection> {
 public:
  AsyncConnection(boost::asio::any_io_executor executor,
                  std::shared_ptr<const AsyncConnectOptions> options);
  ~AsyncConnection();
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  /// Queues `commands` (1 to Replies::kMax) as one call; `done` receives
  /// their replies (error replies are replies) or kStoreTimeout /
  /// kStoreUnavailable / kStoreProtocol / kStoreRefused. Before `done`
  /// runs, this thread's error detail is the failure's reason (a connect or
  /// greeting failure: "<endpoint>: <step>: <why>") or cleared. `deadline`: the call's (a
  /// follow-up's), else command_timeout from when it can be sent. Calls
  /// `done` inline when the call fails at once (back-off, deadline passed,
  /// a command too long to encode). After Close(), drops `done`.
  void Submit(std::span<const Command> commands, std::optional<Deadline> deadline,
              RepliesHandler done);

  /// Closes the socket and drops every queued call's handler uncalled; later
  /// Submits are dropped too. Outstanding Asio handlers find nothing to do.
  void Close() noexcept;

 private:
  struct Link;  // one socket's lifetime: socket, reader, buffers
  struct Pending {
    RepliesHandler done;  // empty for the greeting
    Replies got;
    std::size_t expect = 1;
  };

  void Connect(Deadline now);
  void OnConnected(const std::shared_ptr<Link>& link, const boost::system::error_code& ec);
  // TCP (and TLS) are up: writing and reading start.
  void Established(const std::shared_ptr<Link>& link);
  void StartRead(const std::shared_ptr<Link>& link);
  void OnRead(const std::shared_ptr<Link>& link, const boost::system::error_code& ec,
              std::size_t bytes);
  bool Greeted(const Replies& replies);
  void ScheduleFlush();
  void Flush();
  void ArmTimer(Deadline at);
  void OnTimer();
  // Closes the socket and fails every queued call with `error`, noting
  // `reason` (NoteError; empty: none) on this thread before each handler; a
  // failure before the connection was ready starts (or doubles) the back-off.
  void Fail(std::error_code error, std::string reason = {});
  // "<endpoint>: <step>: <ec's message>".
  std::string Reason(std::string_view step, const boost::system::error_code& ec) const;

  boost::asio::any_io_executor executor_;
  std::shared_ptr<const AsyncConnectOptions> options_;
  std::string greeting_;            // AUTH / SELECT as RESP, empty for none
  std::size_t greeting_count_ = 0;  // commands in greeting_
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  Deadline timer_at_{};
  std::shared_ptr<Link> link_;                // null: not connected
  std::optional<Deadline> connect_deadline_;  // set until the TCP connect completes
  std::deque<Pending> pending_;  // sent or queued, in order; the front is answered next
  std::string outbox_;           // queued, not yet written
  bool flush_posted_ = false;
  bool closed_ = false;
  Deadline retry_at_{};                   // fail fast until then (back-off)
  std::error_code last_error_;            // the failed connect's error
  std::string last_detail_;               // and its reason (empty: none)
  std::chrono::milliseconds backoff_{0};  // the current back-off, 0 after a success
};

/// Appends the RESP encoding of `command` (hiredis' binary-safe formatter)
/// to `out`. kInvalidArgument for an empty command or too many arguments,
/// kValueTooLarge when a length overflows.
Result<void> AppendCommand(Command command, std::string& out);

}  // namespace jeff::redis_detail
