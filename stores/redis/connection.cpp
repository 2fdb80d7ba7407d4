#include "connection.hpp"

#include "tls.hpp"

#include <jeff/store_url.hpp>

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace jeff::redis_detail {
namespace {

constexpr std::size_t kMaxArgs = 8;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kKeptCommandBytes = 16 * 1024;

timeval ToTimeval(std::chrono::milliseconds d) noexcept {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

bool Contains(std::string_view text, std::string_view word) noexcept {
  return text.find(word) != std::string_view::npos;
}

}  // namespace

void FormattedDeleter::operator()(char* p) const noexcept { std::free(p); }

namespace {

// Decimal digits of `n`.
std::size_t Digits(std::size_t n) noexcept {
  std::size_t digits = 1;
  for (; n >= 10; n /= 10) ++digits;
  return digits;
}

// Writes the header `<mark><n>\r\n` at `out`; returns the end.
char* Header(char* out, char mark, std::size_t n) noexcept {
  *out++ = mark;
  char* end = out + Digits(n);
  for (char* p = end; p != out; n /= 10) *--p = static_cast<char>('0' + n % 10);
  *end++ = '\r';
  *end++ = '\n';
  return end;
}

// Bytes of the RESP encoding of `command`, or 0 when it cannot be encoded.
std::size_t EncodedSize(Command command) noexcept {
  std::size_t size = 1 + Digits(command.size()) + 2;
  for (std::string_view arg : command) {
    if (arg.size() > static_cast<std::size_t>(INT_MAX)) return 0;
    size += 1 + Digits(arg.size()) + 2 + arg.size() + 2;
  }
  return size;
}

// Encodes `command` at `out` (EncodedSize bytes).
void Encode(Command command, char* out) noexcept {
  out = Header(out, '*', command.size());
  for (std::string_view arg : command) {
    out = Header(out, '$', arg.size());
    if (!arg.empty()) std::memcpy(out, arg.data(), arg.size());
    out += arg.size();
    *out++ = '\r';
    *out++ = '\n';
  }
}

// EncodedSize, or the error of a command that cannot be sent.
Result<std::size_t> CheckedSize(Command command) noexcept {
  if (command.empty() || command.size() > kMaxArgs) return Errc::kInvalidArgument;
  const std::size_t size = EncodedSize(command);
  if (size == 0 || size > static_cast<std::size_t>(INT_MAX)) return Errc::kValueTooLarge;
  return size;
}

}  // namespace

// RESP written here rather than by redisFormatCommandArgv: hiredis builds
// each length with sprintf, ~2,400 instructions for a GET, more than the
// rest of a Check's client work on the store side (docs/design.md).
Result<void> WriteCommand(Command command, std::string& out) {
  auto size = CheckedSize(command);
  if (!size) return size.error();
  const std::size_t at = out.size();
  out.resize(at + *size);
  Encode(command, out.data() + at);
  return {};
}

Result<std::string_view> FormatCommand(Command command, Formatted& storage) {
  auto size = CheckedSize(command);
  if (!size) return size.error();
  storage.reset(static_cast<char*>(std::malloc(*size)));
  if (!storage) return Errc::kStoreUnavailable;
  Encode(command, storage.get());
  return std::string_view(storage.get(), *size);
}

void ReplyDeleter::operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }

void Connection::ContextDeleter::operator()(redisContext* context) const noexcept {
  redisFree(context);
}

std::string Endpoint::ToString() const {
  const std::string p = std::to_string(port);
  return host.find(':') != std::string::npos ? "[" + host + "]:" + p : host + ":" + p;
}

Connection::Connection(redisContext* context) noexcept : context_(context) {}

Connection::~Connection() = default;

Result<std::unique_ptr<Connection>> Connection::Open(const Endpoint& endpoint,
                                                     const ConnectOptions& options) {
  const Deadline deadline = SteadyClock::now() + options.connect_timeout;
  errno = 0;
  redisContext* raw =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(options.connect_timeout));
  const int connect_errno = errno;
  if (raw == nullptr) return Errc::kStoreUnavailable;  // hiredis could not allocate
  std::unique_ptr<Connection> conn(new Connection(raw));
  if (raw->err != 0) {
    const bool timed_out = raw->err == REDIS_ERR_IO &&
                           (connect_errno == ETIMEDOUT || Contains(raw->errstr, "timed out"));
    return NoteError(timed_out ? Errc::kStoreTimeout : Errc::kStoreUnavailable,
                     endpoint.ToString() + ": connect: " + raw->errstr);
  }
  // Writes never block (MSG_DONTWAIT, then poll against the deadline); the
  // send timeout is only a backstop should a blocking hiredis call ever be
  // made on this context. Reads block for at most one slice at a time.
  const timeval slice = ToTimeval(std::max(options.read_slice, std::chrono::milliseconds(1)));
  if (redisSetTimeout(raw, ToTimeval(options.connect_timeout)) != REDIS_OK ||
      ::setsockopt(raw->fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice)) != 0) {
    return Errc::kStoreUnavailable;
  }
  if (options.keepalive.count() > 0) {
    if (redisEnableKeepAlive(raw) != REDIS_OK) return Errc::kStoreUnavailable;
    // hiredis fixes the idle time at 15 s; apply the configured one.
    const int idle = static_cast<int>(std::min<std::int64_t>(options.keepalive.count(), INT_MAX));
    const int interval = std::max(1, idle / 3);
    if (::setsockopt(raw->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        ::setsockopt(raw->fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval)) != 0) {
      return Errc::kStoreUnavailable;
    }
  }

  if (options.tls) {
    auto stream = TlsStream::Handshake(*options.tls, raw->fd, endpoint.host, deadline);
    if (!stream) return stream.error();
    conn->tls_ = std::move(*stream);
  }

  const std::string db = std::to_string(options.db);
  const std::array<std::string_view, 3> auth_user{"AUTH", options.username, options.password};
  const std::array<std::string_view, 2> auth_default{"AUTH", options.password};
  const std::array<std::string_view, 2> select{"SELECT", db};
  std::array<Command, 2> greeting;
  std::size_t count = 0;
  if (!options.password.empty()) {
    greeting[count++] = options.username.empty() ? Command(auth_default) : Command(auth_user);
  }
  if (options.db != 0) greeting[count++] = Command(select);
  if (count == 0) return conn;

  std::array<Reply, 2> replies;
  auto sent = conn->Exchange(std::span(greeting.data(), count), std::span(replies.data(), count),
                             deadline);
  if (!sent) return sent.error();
  for (std::size_t i = 0; i < count; ++i) {
    if (replies[i]->type == REDIS_REPLY_ERROR) {
      std::string reason;
      return GreetingError(*replies[i], endpoint, greeting[i][0] == "AUTH" ? "AUTH" : "SELECT " + db,
                           options.password, reason);
    }
    if (replies[i]->type != REDIS_REPLY_STATUS) return Errc::kStoreProtocol;
  }
  return conn;
}

std::error_code Connection::Break(std::error_code error) noexcept {
  broken_ = true;
  return error;
}

bool Connection::IdleAndOpen() const noexcept {
  if (broken_) return false;
  if (tls_) return tls_->IdleAndOpen();
  // Readable while idle means EOF, a reset or unsolicited bytes: all fatal.
  return NothingToRead(context_->fd);
}

Result<void> Connection::Exchange(std::span<const Command> commands, std::span<Reply> replies,
                                  Deadline deadline) {
  if (broken_) return Errc::kStoreUnavailable;
  if (SteadyClock::now() >= deadline) return Errc::kStoreTimeout;  // nothing sent: still usable
  out_.clear();
  for (const Command& c : commands) {
    if (auto written = WriteCommand(c, out_); !written) return written.error();
  }
  auto sent = SendAll(out_, deadline);
  // A large value's buffer is not kept for the life of the pooled connection.
  if (out_.capacity() > kKeptCommandBytes) std::string().swap(out_);
  if (!sent) return sent;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto reply = ReadReply(deadline);
    if (!reply) return reply.error();
    replies[i] = std::move(*reply);
  }
  // Bytes beyond the last reply answer nothing we sent (a push, a reply to
  // a command of unknown arity): the replies may be out of step, and the
  // next call would read them as its own. Neither this call nor the
  // connection can be trusted.
  const redisReader* reader = context_->reader;
  if (reader->len > reader->pos || (tls_ && tls_->HasUnreadData())) {
    return Break(make_error_code(Errc::kStoreProtocol));
  }
  return {};
}

Result<void> Connection::SendAll(std::string_view bytes, Deadline deadline) {
  if (tls_) {
    auto sent = tls_->WriteAll(bytes, deadline);
    return sent ? sent : Break(sent.error());
  }
  const int fd = context_->fd;
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a peer that went away must be an error, not SIGPIPE.
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitReady(fd, POLLOUT, deadline)) return Break(make_error_code(Errc::kStoreTimeout));
    } else {
      return Break(make_error_code(Errc::kStoreUnavailable));
    }
  }
  return {};
}

Result<Reply> Connection::ReadReply(Deadline deadline) {
  redisReader* reader = context_->reader;
  const int fd = context_->fd;
  std::array<char, kReadChunk> buffer;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
      return Break(make_error_code(Errc::kStoreProtocol));
    }
    if (raw != nullptr) {
      last_used_ = SteadyClock::now();
      return Reply(static_cast<redisReply*>(raw));
    }
    if (tls_) {
      auto n = tls_->ReadSome(buffer, deadline);
      if (!n) return Break(n.error());
      if (redisReaderFeed(reader, buffer.data(), *n) != REDIS_OK) {
        return Break(make_error_code(Errc::kStoreProtocol));
      }
      continue;
    }
    // A blocking read that gives up after one slice (SO_RCVTIMEO): the
    // deadline is looked at between slices. Once the deadline has passed,
    // a reply that is already there is still taken.
    const bool late = SteadyClock::now() >= deadline;
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), late ? MSG_DONTWAIT : 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && late) {
      return Break(make_error_code(Errc::kStoreTimeout));
    }
    if (n > 0) {
      if (redisReaderFeed(reader, buffer.data(), static_cast<std::size_t>(n)) != REDIS_OK) {
        return Break(make_error_code(Errc::kStoreProtocol));
      }
    } else if (n == 0) {
      return Break(make_error_code(Errc::kStoreUnavailable));  // EOF: the server closed it
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Break(make_error_code(Errc::kStoreUnavailable));
    }
  }
}

std::string_view ReplyText(const redisReply& reply) noexcept {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return {reply.str, reply.len};
    default:
      return {};
  }
}

bool IsErrorReply(const redisReply& reply, std::string_view prefix) noexcept {
  return reply.type == REDIS_REPLY_ERROR && ReplyText(reply).starts_with(prefix);
}

namespace {

Errc CodeOfReply(std::string_view text) noexcept {
  // A value of another type under the key (also when raised inside the script).
  if (Contains(text, "WRONGTYPE")) return Errc::kStoreCorrupt;
  // Transient server states: loading the dataset, a busy script, no quorum,
  // failover in progress, out of memory.
  for (std::string_view code : {"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
                                "READONLY", "OOM"}) {
    if (text.starts_with(code)) return Errc::kStoreUnavailable;
  }
  // Credentials or permissions refused (a password changed under a live
  // connection, an ACL without the commands jeff sends).
  for (std::string_view code : {"NOAUTH", "WRONGPASS", "NOPERM"}) {
    if (text.starts_with(code)) return Errc::kStoreRefused;
  }
  return Errc::kStoreProtocol;
}

}  // namespace

std::error_code ErrorFromReply(const redisReply& reply) noexcept {
  // Whatever the code, the server's words are the reason (`OOM command not
  // allowed...`, `READONLY You can't write against a read only replica.`).
  const std::string_view text = ReplyText(reply);
  return NoteError(CodeOfReply(text), text);
}

std::error_code GreetingError(const redisReply& reply, const Endpoint& endpoint,
                              std::string_view step, std::string_view password,
                              std::string& reason) {
  std::error_code e = ErrorFromReply(reply);
  if (e != Errc::kStoreUnavailable) e = Errc::kStoreRefused;
  reason = endpoint.ToString() + ": " + std::string(step) + ": " +
           RedactReply(ReplyText(reply), password);
  return NoteError(e, reason);
}

std::string RedactReply(std::string_view text, std::string_view password) {
  if (password.empty()) return std::string(text);
  return RedactStoreMessage(text, "redis://:" + std::string(password) + "@server");
}

}  // namespace jeff::redis_detail
