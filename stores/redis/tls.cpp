#include "tls.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace jeff::redis_detail {
namespace {

bool Retryable(int error) noexcept {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

}  // namespace

// The BIO under every TlsStream: writes with send(MSG_NOSIGNAL|MSG_DONTWAIT)
// (a closed peer is EPIPE, not SIGPIPE; a full buffer is a retry that
// Drive polls for), reads with a recv that blocks for at most one read slice
// (SO_RCVTIMEO), or not at all when the stream says so.
struct TlsBio {
  static TlsStream& StreamOf(BIO* bio) noexcept { return *static_cast<TlsStream*>(BIO_get_data(bio)); }

  static int Write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    const ssize_t n = ::send(StreamOf(bio).fd_, data, static_cast<std::size_t>(size),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && Retryable(errno)) BIO_set_retry_write(bio);
    return static_cast<int>(n);
  }

  static int Read(BIO* bio, char* data, int size) {
    BIO_clear_retry_flags(bio);
    const TlsStream& stream = StreamOf(bio);
    const ssize_t n = ::recv(stream.fd_, data, static_cast<std::size_t>(size),
                             stream.nonblocking_reads_ ? MSG_DONTWAIT : 0);
    if (n < 0 && Retryable(errno)) BIO_set_retry_read(bio);
    return static_cast<int>(n);
  }
};

namespace {

long BioCtrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "jeff-redis-socket");
    if (m == nullptr || BIO_meth_set_write(m, TlsBio::Write) != 1 ||
        BIO_meth_set_read(m, TlsBio::Read) != 1 ||
        BIO_meth_set_ctrl(m, BioCtrl) != 1 || BIO_meth_set_create(m, BioCreate) != 1) {
      return static_cast<BIO_METHOD*>(nullptr);
    }
    return m;
  }();
  return method;
}

bool IsIpLiteral(const std::string& host) noexcept {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

enum class Step { kDone, kWaitRead, kWaitWrite, kFailed };

// What to do after an SSL_* call returned `rc`.
Step StepAfter(SSL* ssl, int rc) noexcept {
  if (rc > 0) return Step::kDone;
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
      return Step::kWaitRead;
    case SSL_ERROR_WANT_WRITE:
      return Step::kWaitWrite;
    default:
      return Step::kFailed;
  }
}

// SSL_get_error needs an empty error queue before each SSL_* call. It
// nearly always is empty, and ERR_clear_error costs more than a look: in
// OpenSSL 3.0 it resets all 16 slots, two OPENSSL_free each. ERR_peek_error
// returning 0 means the queue is empty (it also drops cleared slots), which
// is all SSL_get_error looks at.
void ClearErrors() noexcept {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

[[noreturn]] void Fail(const std::string& what) {
  ERR_clear_error();
  throw std::invalid_argument("RedisStoreOptions: tls: " + what);
}

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::Make(
    const RedisTlsOptions& options, const std::function<void(std::string_view)>& warn) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) Fail("cannot create an SSL_CTX");
  std::shared_ptr<const TlsContext> owned(new TlsContext(ctx, !options.insecure_skip_verify,
                                                         options.server_name));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read what the socket holds in one recv instead of a record header and
  // then its body in two.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (options.insecure_skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    warn("WARNING: jeff RedisStore: tls insecure_skip_verify is on: the Redis server's "
         "certificate is not checked, anyone on the path can read and change sessions");
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (options.ca_file.empty() && options.ca_dir.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) Fail("cannot load the system trust store");
    } else if (SSL_CTX_load_verify_locations(
                   ctx, options.ca_file.empty() ? nullptr : options.ca_file.c_str(),
                   options.ca_dir.empty() ? nullptr : options.ca_dir.c_str()) != 1) {
      Fail("cannot load CA certificates from '" +
           (options.ca_file.empty() ? options.ca_dir : options.ca_file) + "'");
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    Fail("cert_file and key_file go together");
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      Fail("cannot load the client certificate '" + options.cert_file + "'");
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      Fail("cannot load the client key '" + options.key_file + "' (or it does not match)");
    }
  }
  return owned;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsStream>> TlsStream::Handshake(const TlsContext& context, int fd,
                                                        const std::string& host,
                                                        Deadline deadline) {
  BIO_METHOD* method = SocketMethod();
  if (method == nullptr) return Errc::kStoreUnavailable;
  SSL* ssl = SSL_new(context.native());
  if (ssl == nullptr) return Errc::kStoreUnavailable;
  std::unique_ptr<TlsStream> stream(new TlsStream(ssl, fd));
  BIO* bio = BIO_new(method);
  if (bio == nullptr) return Errc::kStoreUnavailable;
  BIO_set_data(bio, stream.get());
  SSL_set_bio(ssl, bio, bio);  // the SSL owns the BIO

  const std::string& name = context.server_name().empty() ? host : context.server_name();
  const bool ip = IsIpLiteral(name);
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return Errc::kStoreUnavailable;
  if (context.verify()) {
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                      : SSL_set1_host(ssl, name.c_str());
    if (ok != 1) return Errc::kStoreUnavailable;
  }
  auto done = stream->Drive(deadline, [ssl] { return SSL_connect(ssl); });
  if (!done) return done.error();
  return stream;
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

// Runs `op` (an SSL_* call returning > 0 on success) until it succeeds or
// fails. A read that found nothing within its slice is tried again until
// the deadline, then once more without waiting (a reply that has arrived is
// still taken); a full send buffer is waited for with poll.
template <typename Op>
Result<int> TlsStream::Drive(Deadline deadline, Op op) {
  nonblocking_reads_ = false;
  for (;;) {
    ClearErrors();
    const int rc = op();
    switch (StepAfter(ssl_, rc)) {
      case Step::kDone:
        return rc;
      case Step::kWaitRead:
        if (nonblocking_reads_) return Errc::kStoreTimeout;  // the last try found nothing
        if (SteadyClock::now() >= deadline) nonblocking_reads_ = true;
        break;
      case Step::kWaitWrite:
        if (!WaitReady(fd_, POLLOUT, deadline)) return Errc::kStoreTimeout;
        break;
      case Step::kFailed:
        ClearErrors();
        return Errc::kStoreUnavailable;
    }
  }
}

Result<void> TlsStream::WriteAll(std::string_view bytes, Deadline deadline) {
  while (!bytes.empty()) {
    const int size = static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX));
    auto n = Drive(deadline, [this, bytes, size] { return SSL_write(ssl_, bytes.data(), size); });
    if (!n) return n.error();
    bytes.remove_prefix(static_cast<std::size_t>(*n));
  }
  return {};
}

Result<std::size_t> TlsStream::ReadSome(std::span<char> buffer, Deadline deadline) {
  const int size = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
  auto n = Drive(deadline, [this, buffer, size] { return SSL_read(ssl_, buffer.data(), size); });
  if (!n) return n.error();
  return static_cast<std::size_t>(*n);
}

TlsStream::Peeked TlsStream::PeekNow() noexcept {
  char byte;
  nonblocking_reads_ = true;
  ClearErrors();
  const int rc = SSL_peek(ssl_, &byte, 1);
  const Step step = StepAfter(ssl_, rc);
  ClearErrors();
  nonblocking_reads_ = false;
  if (step == Step::kDone) return Peeked::kData;
  return step == Step::kWaitRead ? Peeked::kNothing : Peeked::kClosed;
}

bool TlsStream::HasUnreadData() noexcept {
  if (SSL_pending(ssl_) > 0) return true;
  if (SSL_has_pending(ssl_) != 1) return false;  // the common case: nothing buffered
  return PeekNow() == Peeked::kData;
}

bool TlsStream::IdleAndOpen() noexcept {
  if (SSL_has_pending(ssl_) == 1 || !NothingToRead(fd_)) {
    // Session tickets (harmless), or EOF / a reset / stray data.
    return PeekNow() == Peeked::kNothing;
  }
  return true;
}

}  // namespace jeff::redis_detail
