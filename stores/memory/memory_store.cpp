#include <jeff/stores/memory/memory_store.hpp>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace jeff {
namespace {

// One allocation per entry: this header, then the key's bytes, then the
// value's. A lookup touches the slot array and this one block, nothing else
// (a std::unordered_map<std::string, std::string> chases a bucket, a node,
// the key's heap buffer and the value's).
struct Entry {
  std::int64_t expires_ms = 0;
  Version version = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::size_t capacity = 0;  // bytes after the header

  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const noexcept { return {bytes(), key_size}; }
  std::string_view value() const noexcept { return {bytes() + key_size, value_size}; }
};

struct EntryDeleter {
  void operator()(Entry* e) const noexcept {
    e->~Entry();
    ::operator delete(e);
  }
};
using EntryPtr = std::unique_ptr<Entry, EntryDeleter>;

// A new entry for `key` with room for a value of `value_size` bytes and some
// growth, so that most updates rewrite the block in place.
EntryPtr NewEntry(std::string_view key, std::size_t value_size) {
  const std::size_t capacity = key.size() + value_size + value_size / 4;
  EntryPtr e(new (::operator new(sizeof(Entry) + capacity)) Entry{});
  e->key_size = static_cast<std::uint32_t>(key.size());
  e->capacity = capacity;
  if (!key.empty()) std::memcpy(e->bytes(), key.data(), key.size());
  return e;
}

// Folds an 8-byte word into a hash state (xxHash64's round).
std::uint64_t Round(std::uint64_t h, std::uint64_t word) noexcept {
  return std::rotl(h ^ (word * 0xc2b2ae3d27d4eb4full), 31) * 0x9e3779b185ebca87ull;
}

// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
std::uint64_t Avalanche(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

std::uint64_t Load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint64_t Load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The slot hash of a key: eight bytes per round (std::hash, MurmurHash2
// in libstdc++, took ~85 instructions for a 27-byte store key, this ~35).
// Low bits pick the slot and high bits the shard, so both must depend on
// every byte: the finaliser mixes them all. Unseeded, as std::hash is: the
// stored keys are `<prefix><kid>` with the kid an HMAC of the application
// key under the pepper, which clients cannot choose, and a lookup of a
// chosen key only probes the run where it lands. A probe compares keys, so
// a collision costs time, never correctness.
std::uint64_t HashKey(std::string_view key) noexcept {
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t h = 0x27d4eb2f165667c5ull ^ key.size();
  if (n > 8) {
    for (; n > 8; p += 8, n -= 8) h = Round(h, Load64(p));
    h = Round(h, Load64(p + n - 8));  // the last 8 bytes (some already mixed in)
  } else if (n >= 4) {
    h = Round(h, (Load32(p) << 32) | Load32(p + n - 4));
  } else if (n > 0) {
    const auto byte = [&](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
    h = Round(h, (byte(0) << 16) | (byte(n / 2) << 8) | byte(n - 1));
  }
  return Avalanche(h);
}

// Asks for the first lines of an entry's block at once. Where the value
// starts is known only once the header's line has arrived, so without this
// a lookup waits for one miss (the header) and then another (the value);
// requested together, a one-session record (~180 bytes with its header)
// arrives in about the time of one. Longer values stream after it.
void PrefetchBlock(const Entry* e) noexcept {
  const char* block = reinterpret_cast<const char*>(e);
  __builtin_prefetch(block + 64);
  __builtin_prefetch(block + 128);
  __builtin_prefetch(block + 192);
}

// An open-addressing table (linear probing, backward-shift deletion, load at
// most 5/8) of one shard. Slots keep the full hash, so a probe compares keys
// only on a hash match.
class Table {
 public:
  struct Slot {
    std::uint64_t hash = 0;
    EntryPtr entry;  // null: empty slot
  };

  Slot* Find(std::uint64_t hash, std::string_view key) noexcept {
    if (slots_.empty()) return nullptr;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (!slot.entry) return nullptr;
      if (slot.hash == hash) {
        PrefetchBlock(slot.entry.get());
        if (slot.entry->key() == key) return &slot;
      }
    }
  }

  // Precondition: `key` is not in the table.
  Slot& Insert(std::uint64_t hash, EntryPtr entry) {
    if ((size_ + 1) * 8 > slots_.size() * 5) Rehash(std::max<std::size_t>(16, slots_.size() * 2));
    ++size_;
    return Place(hash, std::move(entry));
  }

  void Erase(Slot& erased) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = static_cast<std::size_t>(&erased - slots_.data());
    slots_[hole].entry.reset();
    // Move later entries of the probe run back into the hole unless their
    // home slot lies cyclically in (hole, j]: every entry stays reachable
    // from its home without tombstones.
    for (std::size_t j = (hole + 1) & mask; slots_[j].entry; j = (j + 1) & mask) {
      const std::size_t home = slots_[j].hash & mask;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        slots_[hole] = std::move(slots_[j]);
        hole = j;
      }
    }
    --size_;
  }

  // Removes the entries `pred` selects; shrinks the slot array when it has
  // become mostly empty, so memory follows the live entries down too.
  template <typename Pred>
  void EraseIf(Pred pred) {
    std::vector<Slot> old = std::move(slots_);
    std::size_t live = 0;
    for (Slot& slot : old) {
      if (slot.entry && pred(*slot.entry)) slot.entry.reset();
      live += slot.entry ? 1 : 0;
    }
    std::size_t capacity = old.size();
    while (capacity > 16 && live * 8 < capacity) capacity /= 2;
    slots_ = std::vector<Slot>(live == 0 ? 0 : capacity);
    size_ = live;
    for (Slot& slot : old) {
      if (slot.entry) Place(slot.hash, std::move(slot.entry));
    }
  }

  std::size_t size() const noexcept { return size_; }

  // Calls `f` with every entry, expired or not.
  template <typename F>
  void ForEach(F f) const {
    for (const Slot& slot : slots_) {
      if (slot.entry) f(*slot.entry);
    }
  }

 private:
  Slot& Place(std::uint64_t hash, EntryPtr entry) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i].entry) i = (i + 1) & mask;
    slots_[i].hash = hash;
    slots_[i].entry = std::move(entry);
    return slots_[i];
  }

  void Rehash(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>(capacity);
    for (Slot& slot : old) {
      if (slot.entry) Place(slot.hash, std::move(slot.entry));
    }
  }

  std::vector<Slot> slots_;  // size 0 or a power of two
  std::size_t size_ = 0;
};

// A lane's lock: Drepper's three-state futex mutex ("Futexes Are Tricky",
// mutex 2) on std::atomic's wait and notify. Uncontended, lock and unlock
// are one atomic instruction each, inline: std::mutex costs the same two
// atomics plus two calls into pthread's general mutex code (~50
// instructions per read, a sixth of a read's cost beyond its hash).
// Contended, a waiter sleeps in the kernel as it would on std::mutex.
class LaneMutex {
 public:
  void lock() noexcept {
    std::uint32_t state = kFree;
    if (state_.compare_exchange_strong(state, kHeld, std::memory_order_acquire, std::memory_order_relaxed)) return;
    // Contended: mark waiters, sleep while the lock is held by another.
    if (state != kWaited) state = state_.exchange(kWaited, std::memory_order_acquire);
    while (state != kFree) {
      state_.wait(kWaited, std::memory_order_relaxed);
      state = state_.exchange(kWaited, std::memory_order_acquire);
    }
  }
  void unlock() noexcept {
    // Waking only when someone marked waiting: a plain unlock wakes no one.
    if (state_.exchange(kFree, std::memory_order_release) == kWaited) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t kFree = 0, kHeld = 1, kWaited = 2;
  std::atomic<std::uint32_t> state_{kFree};
};

// One read lane: a lock on a cache line of its own.
struct alignas(64) Lane {
  LaneMutex mu;
};

// A shard's table and the lanes that guard it: a reader holds one lane (its
// thread's), a writer all of them, taken in index order. Reads on different
// lanes run in parallel and leave each other's cache lines alone; the table
// itself is only read by readers, so its lines are shared, not moved.
struct alignas(64) Shard {
  explicit Shard(std::size_t lanes) : lanes(lanes) {}

  std::vector<Lane> lanes;
  Table table;  // guarded by all lanes: read under one, written under all
  Version next_version = 1;
  std::int64_t next_sweep_ms = 0;
};

// Locks a whole shard for writing.
class WriteLock {
 public:
  explicit WriteLock(Shard& shard) : shard_(shard) {
    for (Lane& lane : shard_.lanes) lane.mu.lock();
  }
  ~WriteLock() {
    for (auto it = shard_.lanes.rbegin(); it != shard_.lanes.rend(); ++it) it->mu.unlock();
  }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

 private:
  Shard& shard_;
};

// The lane for a read: the CPU this thread runs on (sched_getcpu reads it
// from the kernel's per-thread rseq area, ~3 ns), so concurrent readers on
// different CPUs use different lanes whatever threads they are. Any lane is
// correct; a thread that migrates mid-read merely shares one for a moment.
std::size_t ReadLane() noexcept {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<std::size_t>(cpu);
}

std::size_t LaneCount(std::size_t requested) {
  std::size_t n = requested;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  return std::min<std::size_t>(std::bit_ceil(n), 64);
}

}  // namespace

struct MemoryStore::Impl {
  explicit Impl(MemoryStoreOptions o) : options(std::move(o)) {
    if (!options.clock) options.clock = SystemClock();
    const std::size_t count = std::bit_ceil(options.shards == 0 ? std::size_t{64} : options.shards);
    const std::size_t lanes = LaneCount(options.read_lanes);
    shards.reserve(count);
    for (std::size_t i = 0; i < count; ++i) shards.push_back(std::make_unique<Shard>(lanes));
    shard_shift = 64 - std::countr_zero(count);
  }

  // The shard comes from the hash's top bits, the slot from its low bits,
  // so that the keys of one shard still spread over all of its slots.
  Shard& ShardFor(std::uint64_t hash) noexcept {
    return *shards[shards.size() == 1 ? 0 : hash >> shard_shift];
  }

  std::int64_t NowMs() const { return ToUnixMillis(options.clock()); }

  // Called with the shard locked. Bounded work per interval: a full pass over
  // one shard, so memory held by expired entries is reclaimed even for keys
  // that are never read again.
  void MaybeSweep(Shard& shard, std::int64_t now_ms) {
    if (now_ms < shard.next_sweep_ms) return;
    shard.table.EraseIf([now_ms](const Entry& e) { return e.expires_ms <= now_ms; });
    shard.next_sweep_ms = now_ms + options.sweep_interval.count();
  }

  MemoryStoreOptions options;
  std::vector<std::unique_ptr<Shard>> shards;
  int shard_shift = 0;
};

MemoryStore::MemoryStore(MemoryStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

MemoryStore::~MemoryStore() = default;

Result<std::optional<Versioned>> MemoryStore::Fetch(std::string_view key) {
  return FetchViaFetchInto(key);
}

Result<std::optional<Version>> MemoryStore::FetchInto(std::string_view key, std::string& value) {
  const std::int64_t now_ms = impl_->NowMs();
  const std::uint64_t hash = HashKey(key);
  Shard& shard = impl_->ShardFor(hash);
  std::lock_guard lock(shard.lanes[ReadLane() & (shard.lanes.size() - 1)].mu);
  const Table::Slot* slot = shard.table.Find(hash, key);
  // An expired entry is left for the next sweep: a read changes nothing.
  if (slot == nullptr || slot->entry->expires_ms <= now_ms) return std::optional<Version>();
  value.assign(slot->entry->value());
  return std::optional<Version>(slot->entry->version);
}

Result<void> MemoryStore::ListKeys(std::string_view prefix, std::size_t page, const Visit& visit) {
  if (page == 0) return Errc::kInvalidArgument;
  std::vector<std::string> keys;
  for (const auto& shard : impl_->shards) {
    {
      // Collected under the shard's read lane, visited after: `visit` may
      // write to this store.
      std::lock_guard lock(shard->lanes[ReadLane() & (shard->lanes.size() - 1)].mu);
      const std::int64_t now_ms = impl_->NowMs();
      shard->table.ForEach([&](const Entry& e) {
        if (e.expires_ms > now_ms && e.key().starts_with(prefix)) keys.emplace_back(e.key());
      });
    }
    while (keys.size() >= page || (!keys.empty() && &shard == &impl_->shards.back())) {
      const std::size_t n = std::min(page, keys.size());
      if (auto visited = visit(std::span<const std::string>(keys.data(), n)); !visited) return visited;
      keys.erase(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }
  return {};
}

Result<bool> MemoryStore::CompareAndSwap(std::string_view key, std::optional<Version> expected,
                                         std::string_view value, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return Errc::kInvalidArgument;
  const std::size_t max_value = impl_->options.max_value_bytes;
  if ((max_value != 0 && value.size() > max_value) || value.size() > UINT32_MAX) {
    return Errc::kValueTooLarge;
  }
  if (key.size() > UINT32_MAX) return Errc::kInvalidArgument;
  const std::int64_t now_ms = impl_->NowMs();
  const std::uint64_t hash = HashKey(key);
  Shard& shard = impl_->ShardFor(hash);
  WriteLock lock(shard);
  impl_->MaybeSweep(shard, now_ms);
  Table::Slot* slot = shard.table.Find(hash, key);
  const bool live = slot != nullptr && slot->entry->expires_ms > now_ms;
  if (expected.has_value() != live || (live && slot->entry->version != *expected)) return false;
  if (slot == nullptr) {
    slot = &shard.table.Insert(hash, NewEntry(key, value.size()));
  } else if (key.size() + value.size() > slot->entry->capacity) {
    slot->entry = NewEntry(key, value.size());
  }
  Entry& e = *slot->entry;
  if (!value.empty()) std::memcpy(e.bytes() + e.key_size, value.data(), value.size());
  e.value_size = static_cast<std::uint32_t>(value.size());
  e.version = shard.next_version++;
  e.expires_ms = now_ms + ttl.count();
  return true;
}

Result<void> MemoryStore::Erase(std::string_view key) {
  const std::uint64_t hash = HashKey(key);
  Shard& shard = impl_->ShardFor(hash);
  WriteLock lock(shard);
  if (Table::Slot* slot = shard.table.Find(hash, key)) shard.table.Erase(*slot);
  return {};
}

// The handler runs after the store's locks are released, so it may call the
// store again (AsyncSessions' compare-and-swap loop does).
void MemoryStore::AsyncFetch(std::string_view key, FetchHandler done) { done(Fetch(key)); }

void MemoryStore::AsyncCompareAndSwap(std::string_view key, std::optional<Version> expected,
                                      std::string_view value, std::chrono::milliseconds ttl,
                                      SwapHandler done) {
  done(CompareAndSwap(key, expected, value, ttl));
}

void MemoryStore::AsyncErase(std::string_view key, EraseHandler done) { done(Erase(key)); }

std::size_t MemoryStore::size() const {
  std::size_t n = 0;
  for (const auto& shard : impl_->shards) {
    std::lock_guard lock(shard->lanes[0].mu);
    n += shard->table.size();
  }
  return n;
}

}  // namespace jeff
