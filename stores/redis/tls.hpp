#pragma once
// Internal to jeff-redis (never installed): TLS as a transport beside plain
// TCP. OpenSSL does all I/O on the connection's socket through our BIO, and
// hiredis only formats commands and parses replies. As for plain TCP, reads
// are blocking recv(2) calls that give up after one read slice (the
// socket's SO_RCVTIMEO, set by Connection) with the deadline looked at
// between slices; writes never block (MSG_DONTWAIT, then poll(2) against
// the deadline) and never raise SIGPIPE. So a stalled handshake, read or
// write is kStoreTimeout, never a hang.

#include "socket_wait.hpp"

#include <jeff/result.hpp>
#include <jeff/stores/redis/redis_store.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace jeff::redis_detail {

/// The client configuration shared by all TLS connections of a store (an
/// SSL_CTX: trust anchors, client certificate, verification mode).
class TlsContext {
 public:
  /// Loads the CA file/dir (or the system trust store when both are empty)
  /// and the client certificate and key. Throws std::invalid_argument naming
  /// the file that cannot be used. With insecure_skip_verify, calls `warn`
  /// once with a warning line.
  static std::shared_ptr<const TlsContext> Make(const RedisTlsOptions& options,
                                                const std::function<void(std::string_view)>& warn);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const noexcept { return ctx_; }
  /// The certificate is checked (chain, validity, host name or IP).
  bool verify() const noexcept { return verify_; }
  /// The name sent as SNI and checked against the certificate instead of
  /// each node's host; empty: the node's host.
  const std::string& server_name() const noexcept { return server_name_; }

 private:
  TlsContext(ssl_ctx_st* ctx, bool verify, std::string server_name) noexcept
      : ctx_(ctx), verify_(verify), server_name_(std::move(server_name)) {}
  ssl_ctx_st* ctx_;
  bool verify_;
  std::string server_name_;
};

/// One TLS session on a connected socket (which it does not own).
class TlsStream {
 public:
  /// Runs the client handshake on `fd` against `host` (SNI when `host` is a
  /// name; certificate checked for that name or IP) before `deadline`.
  /// Errors: kStoreTimeout (no handshake in time), kStoreUnavailable (refused
  /// certificate, handshake failure, reset).
  static Result<std::unique_ptr<TlsStream>> Handshake(const TlsContext& context, int fd,
                                                      const std::string& host, Deadline deadline);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// Writes all of `bytes` before `deadline`. kStoreTimeout or kStoreUnavailable.
  Result<void> WriteAll(std::string_view bytes, Deadline deadline);
  /// Reads at least one byte into `buffer`, waiting until `deadline` (and
  /// taking bytes that are already there after it). kStoreTimeout, or
  /// kStoreUnavailable on EOF, close_notify, reset or a TLS error.
  Result<std::size_t> ReadSome(std::span<char> buffer, Deadline deadline);
  /// Application data received and not read yet. Records that OpenSSL
  /// buffered (read-ahead) are processed first, without waiting: TLS 1.3
  /// post-handshake messages do not count, an incomplete record does not
  /// count (as bytes still in flight do not on plain TCP).
  bool HasUnreadData() noexcept;
  /// False when the server closed the session or sent application data while
  /// it sat idle. Post-handshake messages (TLS 1.3 session tickets) are
  /// consumed and do not count.
  bool IdleAndOpen() noexcept;

 private:
  TlsStream(ssl_st* ssl, int fd) noexcept : ssl_(ssl), fd_(fd) {}
  template <typename Op>
  Result<int> Drive(Deadline deadline, Op op);
  enum class Peeked { kNothing, kData, kClosed };
  // SSL_peek without waiting.
  Peeked PeekNow() noexcept;
  friend struct TlsBio;
  ssl_st* ssl_;
  int fd_;
  bool nonblocking_reads_ = false;  // reads take only what is there (past the deadline, idle check)
};

}  // namespace jeff::redis_detail
