#pragma once
/// \file
/// The Store contract: what a session backend (memory, Redis, memcached,
/// PostgreSQL, or your own) must provide. Three pure virtual operations
/// (Fetch, CompareAndSwap, Erase) and FetchInto, a Fetch into the caller's
/// buffer with a default built on Fetch; all on one key, all thread-safe.
/// One property, WaitsForReplicas, tells Sessions how durable a write is.

#include <jeff/export.hpp>
#include <jeff/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jeff {

/// An opaque version of a stored value, changed by every successful write.
/// Only meaningful to the store that produced it (a counter, a memcached cas
/// unique, a random tag kept beside the value in Redis).
using Version = std::uint64_t;

/// A stored value and the version it had when it was read.
struct Versioned {
  std::string value;  ///< the exact bytes last written (binary-safe)
  Version version{};  ///< pass back to CompareAndSwap to update this value
};

/// A key-value store with compare-and-swap and per-key expiry.
///
/// Implementations are thread-safe: one instance is shared by all request
/// threads. Errors are infrastructure failures only (unreachable, timed out,
/// protocol violation, value too large): a missing or expired key is not an
/// error. Keys handed to a store are at most 250 bytes of printable ASCII
/// without whitespace (jeff builds them as `<prefix><kid>`).
class JEFF_API Store {
 public:
  /// Releases the store's resources. No call may still be running.
  virtual ~Store() = default;

  /// Reads `key`. Returns std::nullopt when it is missing or expired.
  /// Fails only when the store could not answer (Errc::kStore*).
  virtual Result<std::optional<Versioned>> Fetch(std::string_view key) = 0;

  /// Writes `value` under `key`, to expire after `ttl` (> 0), only if the
  /// stored version still is `expected` (std::nullopt: only if `key` is
  /// absent). Returns true when written, false on a lost race (the caller
  /// re-reads and retries). The value and its expiry are set atomically.
  virtual Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected,
                                      std::string_view value, std::chrono::milliseconds ttl) = 0;

  /// Removes `key`. Succeeds when the key was already missing.
  virtual Result<void> Erase(std::string_view key) = 0;

  /// Whether a write reported done was acknowledged by the store's
  /// replicas: a CompareAndSwap that returned true (and an Erase that
  /// removed a key) survives a failover together with every earlier write of
  /// its key. A read may still return a write that was not acknowledged (its
  /// acknowledgement failed: reported as an error, yet applied where it was
  /// read, and undone if a failover comes first), and an Erase of a missing
  /// key confirms nothing. Sessions then makes every revoke write, even one that finds
  /// nothing to remove, and reports a store error when that write is not
  /// acknowledged (docs/design.md, "What each store can lose"). Constant for
  /// the store's lifetime. The default, false (no replicas, or replication
  /// the store does not wait for): a revoke that changes nothing writes
  /// nothing.
  virtual bool WaitsForReplicas() const noexcept { return false; }

  /// Fetch into a caller's buffer: reads `key`, replaces the contents of
  /// `value` with the stored bytes and returns their version; std::nullopt
  /// when the key is missing or expired (`value` is then unspecified). The
  /// buffer's capacity is reused, so a caller that keeps one per thread reads
  /// without allocating: Sessions::Check uses this. Same errors as Fetch.
  /// The default calls Fetch; the built-in stores override it.
  virtual Result<std::optional<Version>> FetchInto(std::string_view key, std::string& value) {
    auto fetched = Fetch(key);
    if (!fetched) return fetched.error();
    if (!fetched->has_value()) return std::optional<Version>();
    value = std::move((*fetched)->value);
    return std::optional<Version>((*fetched)->version);
  }

 protected:
  /// For a store that implements FetchInto: Fetch in terms of it.
  Result<std::optional<Versioned>> FetchViaFetchInto(std::string_view key) {
    Versioned out;
    auto version = FetchInto(key, out.value);
    if (!version) return version.error();
    if (!version->has_value()) return std::optional<Versioned>();
    out.version = **version;
    return std::optional<Versioned>(std::move(out));
  }
};

}  // namespace jeff
