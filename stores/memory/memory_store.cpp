#include <jeff/stores/memory/memory_store.hpp>

#include <bit>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace jeff {
namespace {

struct Entry {
  std::string value;
  Version version = 0;
  std::int64_t expires_ms = 0;
};

// Heterogeneous lookup: Fetch(string_view) must not build a std::string.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct Shard {
  std::mutex mu;
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
  Version next_version = 1;
  std::int64_t next_sweep_ms = 0;
};

}  // namespace

struct MemoryStore::Impl {
  explicit Impl(MemoryStoreOptions o)
      : options(std::move(o)),
        shards(std::bit_ceil(options.shards == 0 ? std::size_t{64} : options.shards)) {
    if (!options.clock) options.clock = SystemClock();
  }

  Shard& ShardFor(std::string_view key) {
    return shards[KeyHash{}(key) & (shards.size() - 1)];
  }

  std::int64_t NowMs() const { return ToUnixMillis(options.clock()); }

  // Called with the shard locked. Bounded work per interval: a full pass over
  // one shard, so memory held by expired entries is reclaimed even for keys
  // that are never read again.
  void MaybeSweep(Shard& shard, std::int64_t now_ms) {
    if (now_ms < shard.next_sweep_ms) return;
    std::erase_if(shard.entries, [now_ms](const auto& kv) { return kv.second.expires_ms <= now_ms; });
    shard.next_sweep_ms = now_ms + options.sweep_interval.count();
  }

  MemoryStoreOptions options;
  std::vector<Shard> shards;
};

MemoryStore::MemoryStore(MemoryStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

MemoryStore::~MemoryStore() = default;

Result<std::optional<Versioned>> MemoryStore::Fetch(std::string_view key) {
  const std::int64_t now_ms = impl_->NowMs();
  Shard& shard = impl_->ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return std::optional<Versioned>();
  if (it->second.expires_ms <= now_ms) {
    shard.entries.erase(it);
    return std::optional<Versioned>();
  }
  return std::optional<Versioned>(Versioned{it->second.value, it->second.version});
}

Result<bool> MemoryStore::CompareAndSwap(std::string_view key, std::optional<Version> expected,
                                         std::string_view value, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return Errc::kInvalidArgument;
  if (impl_->options.max_value_bytes != 0 && value.size() > impl_->options.max_value_bytes) {
    return Errc::kValueTooLarge;
  }
  const std::int64_t now_ms = impl_->NowMs();
  Shard& shard = impl_->ShardFor(key);
  std::lock_guard lock(shard.mu);
  impl_->MaybeSweep(shard, now_ms);
  auto it = shard.entries.find(key);
  const bool live = it != shard.entries.end() && it->second.expires_ms > now_ms;
  if (expected.has_value() != live || (live && it->second.version != *expected)) return false;
  if (it == shard.entries.end()) it = shard.entries.emplace(std::string(key), Entry{}).first;
  it->second.value.assign(value);
  it->second.version = shard.next_version++;
  it->second.expires_ms = now_ms + ttl.count();
  return true;
}

Result<void> MemoryStore::Erase(std::string_view key) {
  Shard& shard = impl_->ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) shard.entries.erase(it);
  return {};
}

std::size_t MemoryStore::size() const {
  std::size_t n = 0;
  for (Shard& shard : impl_->shards) {
    std::lock_guard lock(shard.mu);
    n += shard.entries.size();
  }
  return n;
}

}  // namespace jeff
