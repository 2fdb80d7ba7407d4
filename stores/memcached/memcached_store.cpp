#include <jeff/stores/memcached/memcached_store.hpp>

#include <jeff/stores/memcached/detail/errors.hpp>
#include <jeff/stores/memcached/detail/expiration.hpp>
#include <jeff/stores/memcached/detail/handle_pool.hpp>

#include <libmemcached-1.0/memcached.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace jeff {
namespace {

using memcached_detail::ErrorOf;
using memcached_detail::HandlePool;
using memcached_detail::HandlePtr;

constexpr std::size_t kMaxKeyBytes = 250;     // memcached's key length limit
constexpr std::size_t kMaxPrefixBytes = 128;  // leaves room for jeff's own keys

bool IsKeyChar(char c) noexcept { return c > ' ' && c < 0x7f; }

bool IsValidKeyPart(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), IsKeyChar);
}

void Check(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("MemcachedStoreOptions: ") + what);
}

void Configure(memcached_st* mc, memcached_behavior_t behavior, std::uint64_t value) {
  if (memcached_failed(memcached_behavior_set(mc, behavior, value))) {
    throw std::invalid_argument(std::string("libmemcached refused a setting: ") +
                                memcached_last_error_message(mc));
  }
}

HandlePtr MakeMaster(const MemcachedStoreOptions& o) {
  HandlePtr mc(memcached_create(nullptr));
  if (!mc) throw std::bad_alloc();
  // The ASCII protocol (binary is deprecated by memcached) with `gets`
  // returning cas uniques.
  Configure(mc.get(), MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
  // libketama-compatible consistent hashing (MD5, 160 points per server).
  Configure(mc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  // A dead server's keys must fail, not move: re-hashing them onto the
  // others would make the record written there during the outage shadow
  // the old one and then be shadowed by it again when the server returns,
  // undoing revocations. So no auto-ejection; a failed server is only
  // skipped by each handle for retry_timeout.
  Configure(mc.get(), MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0);
  Configure(mc.get(), MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS, 0);
  Configure(mc.get(), MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
            static_cast<std::uint64_t>(o.retry_timeout.count()));
  Configure(mc.get(), MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
            static_cast<std::uint64_t>(o.connect_timeout.count()));
  Configure(mc.get(), MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
            static_cast<std::uint64_t>(o.io_timeout.count()));
  Configure(mc.get(), MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  for (const MemcachedServer& s : o.servers) {
    const in_port_t port = s.port == 0 ? MEMCACHED_DEFAULT_PORT : s.port;
    if (memcached_failed(memcached_server_add(mc.get(), s.host.c_str(), port))) {
      throw std::invalid_argument("MemcachedStoreOptions: cannot add server " + s.host + ": " +
                                  memcached_last_error_message(mc.get()));
    }
  }
  return mc;
}

MemcachedStoreOptions Validated(MemcachedStoreOptions o) {
  Check(!o.servers.empty(), "no servers");
  for (const MemcachedServer& s : o.servers) Check(!s.host.empty(), "empty server host");
  Check(o.connect_timeout.count() > 0, "connect_timeout must be > 0");
  Check(o.io_timeout.count() > 0, "io_timeout must be > 0");
  Check(o.retry_timeout.count() >= 0, "retry_timeout must be >= 0");
  Check(o.pool_size > 0, "pool_size must be > 0");
  Check(o.pool_wait_timeout.count() >= 0, "pool_wait_timeout must be >= 0");
  Check(o.key_prefix.size() <= kMaxPrefixBytes, "key_prefix longer than 128 bytes");
  Check(IsValidKeyPart(o.key_prefix), "key_prefix must be printable ASCII without spaces");
  // libmemcached stores these as int32.
  constexpr std::int64_t kMaxMs = 0x7fffffff;
  Check(o.connect_timeout.count() <= kMaxMs && o.io_timeout.count() <= kMaxMs &&
            o.retry_timeout.count() <= kMaxMs,
        "timeout too large");
  if (!o.clock) o.clock = SystemClock();
  return o;
}

// A full key (prefix and key) on the stack: at most kMaxKeyBytes, so no
// allocation per call.
class FullKeyBuffer {
 public:
  FullKeyBuffer(std::string_view prefix, std::string_view key) noexcept : size_(prefix.size() + key.size()) {
    std::memcpy(bytes_.data(), prefix.data(), prefix.size());
    std::memcpy(bytes_.data() + prefix.size(), key.data(), key.size());
  }
  const char* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {bytes_.data(), size_}; }

 private:
  std::array<char, kMaxKeyBytes> bytes_;
  std::size_t size_;
};

}  // namespace

struct MemcachedStore::Impl {
  explicit Impl(MemcachedStoreOptions o)
      : options(Validated(std::move(o))),
        pool(MakeMaster(options), options.pool_size, options.pool_wait_timeout) {}

  // `key` with the prefix, or kInvalidArgument when memcached cannot hold it.
  Result<FullKeyBuffer> FullKey(std::string_view key) const {
    if (key.empty() || key.size() + options.key_prefix.size() > kMaxKeyBytes ||
        !IsValidKeyPart(key)) {
      return Errc::kInvalidArgument;
    }
    return FullKeyBuffer(options.key_prefix, key);
  }

  // The error of a failed call on `mc` for `key`. A connection that failed
  // mid-command must not be used again: a late reply would be read as the
  // answer to the next command (a `cas` could read a stale STORED).
  // libmemcached 1.1.4 closes it itself after timeouts and I/O errors; this
  // closes whatever it left open. Only then, because memcached_quit also
  // ends the handle's back-off from servers that failed to connect.
  static std::error_code Fail(memcached_st* mc, memcached_return_t rc, const FullKeyBuffer& key) {
    const std::error_code error = ErrorOf(mc, rc);
    memcached_return_t ignored;
    const memcached_instance_st* server =
        memcached_server_by_key(mc, key.data(), key.size(), &ignored);
    if (server != nullptr && memcached_server_srcport(server) != 0) memcached_quit(mc);
    return error;
  }

  const MemcachedStoreOptions options;
  HandlePool pool;
};

MemcachedStore::MemcachedStore(MemcachedStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

MemcachedStore::~MemcachedStore() = default;

Result<std::optional<Versioned>> MemcachedStore::Fetch(std::string_view key) {
  return FetchViaFetchInto(key);
}

Result<std::optional<Version>> MemcachedStore::FetchInto(std::string_view key, std::string& value) {
  auto full = impl_->FullKey(key);
  if (!full) return full.error();
  auto lease = impl_->pool.Acquire();
  if (!lease) return lease.error();
  memcached_st* mc = lease->get();
  memcached_result_st* reply = lease->result();

  const char* keys[] = {full->data()};
  const std::size_t lengths[] = {full->size()};
  memcached_return_t rc = memcached_mget(mc, keys, lengths, 1);
  if (rc != MEMCACHED_SUCCESS) return Impl::Fail(mc, rc, *full);
  if (memcached_fetch_result(mc, reply, &rc) != nullptr) {
    if (memcached_detail::HasRecordedError(mc)) return Impl::Fail(mc, rc, *full);
    value.assign(memcached_result_value(reply), memcached_result_length(reply));
    // The reply's closing END is left unread, as memcached_get leaves it:
    // libmemcached reads every reply still due on a connection before the
    // handle's next command there (the first thing mget and the storage and
    // delete commands do), so it can never be taken for that command's answer.
    // Reading it here would cost a second pass through the reply parser.
    return std::optional<Version>(memcached_result_cas(reply));
  }
  const bool clean_end = rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND;
  if (!clean_end || memcached_detail::HasRecordedError(mc)) return Impl::Fail(mc, rc, *full);
  return std::optional<Version>();
}

Result<bool> MemcachedStore::CompareAndSwap(std::string_view key, std::optional<Version> expected,
                                            std::string_view value, std::chrono::milliseconds ttl) {
  auto full = impl_->FullKey(key);
  if (!full) return full.error();
  if (ttl.count() <= 0) return Errc::kInvalidArgument;
  const std::size_t max_value = impl_->options.max_value_bytes;
  if (max_value != 0 && value.size() > max_value) return Errc::kValueTooLarge;
  // memcached never hands out cas unique 0, and `cas` without one is not a
  // command: nothing stored can have this version.
  if (expected && *expected == 0) return false;

  auto lease = impl_->pool.Acquire();
  if (!lease) return lease.error();
  memcached_st* mc = lease->get();
  const time_t expiration =
      static_cast<time_t>(memcached_detail::ToExpiration(ttl, impl_->options.clock));
  const memcached_return_t rc = expected
                                    ? memcached_cas(mc, full->data(), full->size(), value.data(),
                                                    value.size(), expiration, 0, *expected)
                                    : memcached_add(mc, full->data(), full->size(), value.data(),
                                                    value.size(), expiration, 0);
  switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_STORED:
      return true;
    case MEMCACHED_DATA_EXISTS:  // cas: changed since read
    case MEMCACHED_NOTFOUND:     // cas: removed or expired since read
    case MEMCACHED_NOTSTORED:    // add: already there
      return false;
    default:
      return Impl::Fail(mc, rc, *full);
  }
}

Result<void> MemcachedStore::Erase(std::string_view key) {
  auto full = impl_->FullKey(key);
  if (!full) return full.error();
  auto lease = impl_->pool.Acquire();
  if (!lease) return lease.error();
  memcached_st* mc = lease->get();
  const memcached_return_t rc = memcached_delete(mc, full->data(), full->size(), 0);
  if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_DELETED || rc == MEMCACHED_NOTFOUND) return {};
  return Impl::Fail(mc, rc, *full);
}

}  // namespace jeff
