#include "async_connection.hpp"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/tcp.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <jeff/error.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

namespace jeff::redis_detail {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// At most one TLS record's worth of bytes per read, over TCP as over TLS
// (whose reads never return more). Each read's replies are handled in one
// turn of the loop, and the commands they start are written after it: with
// no bound, a pipeline whose replies all arrive at once (256 Checks in
// flight: 34 KB, one recvfrom of 64 KB) ran client and server in turn, the
// client handling every reply and writing all their follow-ups in one
// batch while the server idled, then the server answering that batch while
// the client idled. With 16 KB (some 120 replies of a session record) the
// server works on the first follow-ups while the client handles the rest.
constexpr std::size_t kReadChunk = 16 * 1024;

// Renders the greeting (AUTH, SELECT) once, for every connect.
std::string GreetingOf(const AsyncConnectOptions& o, std::size_t& count) {
  const std::string db = std::to_string(o.db);
  const std::array<std::string_view, 3> auth_user{"AUTH", o.username, o.password};
  const std::array<std::string_view, 2> auth_default{"AUTH", o.password};
  const std::array<std::string_view, 2> select{"SELECT", db};
  std::string out;
  count = 0;
  if (!o.password.empty()) {
    (void)AppendCommand(o.username.empty() ? Command(auth_default) : Command(auth_user), out);
    ++count;
  }
  if (o.db != 0) {
    (void)AppendCommand(select, out);
    ++count;
  }
  return out;
}

}  // namespace

void ReaderDeleter::operator()(redisReader* reader) const noexcept { redisReaderFree(reader); }

Result<void> AppendCommand(Command command, std::string& out) {
  Formatted storage;
  auto formatted = FormatCommand(command, storage);
  if (!formatted) return formatted.error();
  out.append(*formatted);
  return {};
}

struct AsyncConnection::Link {
  Link(const asio::any_io_executor& executor, asio::ssl::context* tls_context)
      : socket(executor), resolver(executor), reader(redisReaderCreate()) {
    if (!reader) throw std::bad_alloc();
    if (tls_context != nullptr) tls.emplace(socket, *tls_context);
  }
  // Runs `op` on the byte stream: the TLS stream, or the plain socket.
  template <typename Op>
  void Stream(Op&& op) {
    if (tls) {
      op(*tls);
    } else {
      op(socket);
    }
  }
  tcp::socket socket;
  std::optional<asio::ssl::stream<tcp::socket&>> tls;  // over `socket`
  tcp::resolver resolver;
  std::unique_ptr<redisReader, ReaderDeleter> reader;
  std::string writing;  // the bytes of the write under way
  std::array<char, kReadChunk> buffer;
  bool connected = false;  // TCP connect done: writes may start
  bool ready = false;      // and the greeting answered: failures are no longer connect failures
  bool write_active = false;
};

AsyncConnection::AsyncConnection(asio::any_io_executor executor,
                                 std::shared_ptr<const AsyncConnectOptions> options)
    : executor_(std::move(executor)), options_(std::move(options)), timer_(executor_) {
  greeting_ = GreetingOf(*options_, greeting_count_);
}

AsyncConnection::~AsyncConnection() { Close(); }

void AsyncConnection::Close() noexcept {
  closed_ = true;
  pending_.clear();
  outbox_.clear();
  if (link_) {
    boost::system::error_code ignored;
    link_->resolver.cancel();
    link_->socket.close(ignored);
    link_.reset();
  }
  boost::system::error_code ignored;
  timer_.cancel(ignored);
}

void AsyncConnection::Submit(std::span<const Command> commands, std::optional<Deadline> deadline,
                             RepliesHandler done) {
  if (closed_) return;
  ClearErrorDetail();  // an inline failure below has no reason but its code
  if (commands.empty() || commands.size() > Replies::kMax) {
    done(Errc::kInvalidArgument);
    return;
  }
  const Deadline now = SteadyClock::now();
  if (deadline && *deadline <= now) {
    done(Errc::kStoreTimeout);
    return;
  }
  if (!link_) {
    if (now < retry_at_) {
      done(NoteError(last_error_, last_detail_));  // the failed connect's reason, again
      return;
    }
    Connect(now);
  }
  const std::size_t before = outbox_.size();
  for (const Command& command : commands) {
    if (auto appended = AppendCommand(command, outbox_); !appended) {
      outbox_.resize(before);
      done(appended.error());
      return;
    }
  }
  Pending call{std::move(done), {}, commands.size()};
  call.got.deadline =
      deadline.value_or((connect_deadline_ ? *connect_deadline_ : now) + options_->command_timeout);
  const Deadline at = call.got.deadline;
  pending_.push_back(std::move(call));
  ArmTimer(at);
  if (link_->connected) ScheduleFlush();
}

void AsyncConnection::Connect(Deadline now) {
  auto link = std::make_shared<Link>(executor_, options_->tls.get());
  link_ = link;
  connect_deadline_ = now + options_->connect_timeout;
  ArmTimer(*connect_deadline_);
  if (greeting_count_ > 0) {
    // Answered first, before any call: the calls queued behind it go out
    // in the same write.
    outbox_.append(greeting_);
    Pending greeting{{}, {}, greeting_count_};
    greeting.got.deadline = *connect_deadline_;
    pending_.push_back(std::move(greeting));
  }
  auto self = shared_from_this();
  const Endpoint& endpoint = options_->endpoint;
  boost::system::error_code not_literal;
  const auto address = asio::ip::make_address(endpoint.host, not_literal);
  if (!not_literal) {
    link->socket.async_connect(
        tcp::endpoint(address, endpoint.port),
        [self, link](const boost::system::error_code& ec) { self->OnConnected(link, ec); });
    return;
  }
  // A name: the resolver runs getaddrinfo off the loop, bounded by the
  // connect deadline like the rest.
  link->resolver.async_resolve(
      endpoint.host, std::to_string(endpoint.port),
      [self, link](const boost::system::error_code& ec, const tcp::resolver::results_type& found) {
        if (link != self->link_) return;
        if (ec) {
          self->Fail(make_error_code(Errc::kStoreUnavailable), self->Reason("resolve", ec));
          return;
        }
        asio::async_connect(link->socket, found,
                            [self, link](const boost::system::error_code& e, const tcp::endpoint&) {
                              self->OnConnected(link, e);
                            });
      });
}

void AsyncConnection::OnConnected(const std::shared_ptr<Link>& link,
                                  const boost::system::error_code& ec) {
  if (link != link_) return;
  if (ec) {
    // Refused, unreachable, reset.
    Fail(make_error_code(Errc::kStoreUnavailable), Reason("connect", ec));
    return;
  }
  boost::system::error_code option_error;
  link->socket.set_option(tcp::no_delay(true), option_error);
  if (!option_error && options_->keepalive.count() > 0) {
    const int idle = static_cast<int>(std::min<std::int64_t>(options_->keepalive.count(), INT_MAX));
    link->socket.set_option(asio::socket_base::keep_alive(true), option_error);
    if (!option_error) {
      link->socket.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPIDLE>(idle),
                              option_error);
    }
    if (!option_error) {
      link->socket.set_option(
          asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPINTVL>(std::max(1, idle / 3)),
          option_error);
    }
  }
  if (option_error) {
    Fail(make_error_code(Errc::kStoreUnavailable), Reason("connect", option_error));
    return;
  }
  if (!link->tls) {
    Established(link);
    return;
  }
  // As RedisStore: SNI for a name, and the certificate checked for that
  // name or IP address.
  SSL* ssl = link->tls->native_handle();
  const std::string& name =
      options_->tls_server_name.empty() ? options_->endpoint.host : options_->tls_server_name;
  boost::system::error_code not_ip;
  (void)asio::ip::make_address(name, not_ip);
  const bool ip = !not_ip;
  bool configured = ip || SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
  if (configured && options_->tls_verify) {
    configured = (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                     : SSL_set1_host(ssl, name.c_str())) == 1;
  }
  if (!configured) {
    Fail(make_error_code(Errc::kStoreUnavailable));
    return;
  }
  link->tls->async_handshake(asio::ssl::stream_base::client,
                             [self = shared_from_this(), link](const boost::system::error_code& e) {
                               if (link != self->link_) return;
                               if (e) {
                                 // A refused certificate, a handshake failure, a reset.
                                 self->Fail(make_error_code(Errc::kStoreUnavailable),
                                            self->Reason("TLS handshake", e));
                                 return;
                               }
                               self->Established(link);
                             });
}

void AsyncConnection::Established(const std::shared_ptr<Link>& link) {
  link->connected = true;
  connect_deadline_.reset();
  // Calls queued while connecting were given the whole connect timeout on
  // top of theirs; now that they can be sent, command_timeout from here.
  const Deadline limit = SteadyClock::now() + options_->command_timeout;
  for (Pending& call : pending_) {
    if (call.done && call.got.deadline > limit) call.got.deadline = limit;
  }
  if (greeting_count_ == 0) {
    link->ready = true;
    backoff_ = std::chrono::milliseconds(0);
  }
  StartRead(link);
  Flush();
}

void AsyncConnection::StartRead(const std::shared_ptr<Link>& link) {
  link->Stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(link->buffer),
        [self = shared_from_this(), link](const boost::system::error_code& ec, std::size_t n) {
          self->OnRead(link, ec, n);
        });
  });
}

void AsyncConnection::OnRead(const std::shared_ptr<Link>& link, const boost::system::error_code& ec,
                             std::size_t bytes) {
  if (link != link_) return;
  if (ec) {
    Fail(make_error_code(Errc::kStoreUnavailable));  // EOF, reset
    return;
  }
  redisReader* reader = link->reader.get();
  if (redisReaderFeed(reader, link->buffer.data(), bytes) != REDIS_OK) {
    Fail(make_error_code(Errc::kStoreProtocol));
    return;
  }
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
      Fail(make_error_code(Errc::kStoreProtocol));
      return;
    }
    if (raw == nullptr) break;
    Reply reply(static_cast<redisReply*>(raw));
    // Bytes that answer nothing we sent (a push, an unknown reply): the
    // replies may be out of step, so nothing on this connection is trusted.
    if (pending_.empty()) {
      Fail(make_error_code(Errc::kStoreProtocol));
      return;
    }
    Pending& front = pending_.front();
    front.got.reply[front.got.count++] = std::move(reply);
    if (front.got.count < front.expect) continue;
    Pending call = std::move(front);
    pending_.pop_front();
    if (!call.done) {
      if (!Greeted(call.got)) return;
      continue;
    }
    // The handler may queue calls, fail this connection or destroy the
    // store (Close): after it, only a still-current link is read on. An
    // error reply notes its own reason; no older one is read as this call's.
    ClearErrorDetail();
    call.done(std::move(call.got));
    if (link != link_) return;
  }
  StartRead(link);
}

bool AsyncConnection::Greeted(const Replies& replies) {
  for (std::size_t i = 0; i < replies.count; ++i) {
    const redisReply& r = *replies.reply[i];
    if (r.type == REDIS_REPLY_ERROR) {
      // A rejected AUTH or SELECT is a refusal (as in RedisStore), unless
      // the server is in a passing state (LOADING...). AUTH comes first.
      const bool auth = i == 0 && !options_->password.empty();
      std::string reason;
      const std::error_code e =
          GreetingError(r, options_->endpoint, auth ? "AUTH" : "SELECT " + std::to_string(options_->db),
                        options_->password, reason);
      Fail(e, std::move(reason));
      return false;
    }
    if (r.type != REDIS_REPLY_STATUS) {
      Fail(make_error_code(Errc::kStoreProtocol));
      return false;
    }
  }
  link_->ready = true;
  backoff_ = std::chrono::milliseconds(0);
  return true;
}

void AsyncConnection::ScheduleFlush() {
  if (flush_posted_ || link_->write_active) return;
  // Posted, not written at once: every call made in this turn of the loop
  // joins the same write.
  flush_posted_ = true;
  asio::post(executor_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

void AsyncConnection::Flush() {
  if (!link_ || !link_->connected || link_->write_active || outbox_.empty()) return;
  auto link = link_;
  link->writing.clear();
  link->writing.swap(outbox_);
  link->write_active = true;
  link->Stream([&](auto& stream) {
    asio::async_write(
        stream, asio::buffer(link->writing),
        [self = shared_from_this(), link](const boost::system::error_code& ec, std::size_t) {
          link->write_active = false;
          if (link != self->link_) return;
          if (ec) {
            self->Fail(make_error_code(Errc::kStoreUnavailable));
            return;
          }
          self->Flush();
        });
  });
}

void AsyncConnection::ArmTimer(Deadline at) {
  if (timer_armed_ && timer_at_ <= at) return;
  timer_armed_ = true;
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec != asio::error::operation_aborted) self->OnTimer();
  });
}

void AsyncConnection::OnTimer() {
  if (closed_ || !timer_armed_) return;
  const Deadline now = SteadyClock::now();
  if (now < timer_at_) return;  // a superseded wait; the current one is still pending
  timer_armed_ = false;
  std::optional<Deadline> earliest = connect_deadline_;
  for (const Pending& call : pending_) {
    if (!earliest || call.got.deadline < *earliest) earliest = call.got.deadline;
  }
  if (!earliest) return;
  if (*earliest <= now) {
    const bool connecting = link_ && !link_->connected;
    Fail(make_error_code(Errc::kStoreTimeout),
         connecting ? options_->endpoint.ToString() + ": connect: timed out" : std::string());
    return;
  }
  ArmTimer(*earliest);
}

std::string AsyncConnection::Reason(std::string_view step,
                                    const boost::system::error_code& ec) const {
  return options_->endpoint.ToString() + ": " + std::string(step) + ": " + ec.message();
}

void AsyncConnection::Fail(std::error_code error, std::string reason) {
  const bool connect_failure = link_ && !link_->ready;
  if (link_) {
    boost::system::error_code ignored;
    link_->resolver.cancel();
    link_->socket.close(ignored);
    link_.reset();
  }
  connect_deadline_.reset();
  outbox_.clear();
  timer_armed_ = false;
  boost::system::error_code ignored;
  timer_.cancel(ignored);
  if (connect_failure) {
    const auto& o = *options_;
    backoff_ = backoff_.count() == 0 ? o.backoff_min : std::min(2 * backoff_, o.backoff_max);
    retry_at_ = SteadyClock::now() + backoff_;
    last_error_ = error;
    last_detail_ = reason;
  }
  // Handlers may queue new calls (a fresh connection, or an immediate
  // failure during the back-off) or destroy the store.
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (Pending& call : failed) {
    if (!call.done) continue;
    // Noted again for each handler: one may make store calls of its own.
    if (reason.empty()) {
      ClearErrorDetail();
    } else {
      NoteError(error, reason);
    }
    call.done(error);
    if (closed_) return;
  }
}

}  // namespace jeff::redis_detail
