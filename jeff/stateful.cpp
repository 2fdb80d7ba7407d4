#include <jeff/detail/stateful.hpp>

#include <jeff/detail/session_cookie.hpp>
#include <jeff/record.hpp>

#include <algorithm>
#include <random>
#include <thread>

namespace jeff::detail {
namespace {

using std::chrono::milliseconds;

// Per-thread jitter source for CAS back-off; not security relevant.
std::minstd_rand& JitterRng() {
  thread_local std::minstd_rand rng(std::random_device{}());
  return rng;
}

// `t` as a stored time: records hold 0 ... kMaxUnixMillis (anything else
// decodes as corrupt), so a clock outside that range is clamped into it.
std::int64_t StoredMillis(TimePoint t) noexcept { return std::clamp<std::int64_t>(ToUnixMillis(t), 0, kMaxUnixMillis); }

Session ToSession(std::string_view key, const StoredSession& s) {
  return Session{std::string(key), s.id, FromUnixMillis(s.created_ms), FromUnixMillis(s.expires_ms),
                 FromUnixMillis(s.last_seen_ms), s.meta};
}

class StatefulStrategy final : public Strategy {
 public:
  explicit StatefulStrategy(Options options) : options_(std::move(options)) {}

  const Options& options() const noexcept override { return options_; }

  Result<Issued> Set(std::string_view key, std::string_view meta,
                     std::optional<std::chrono::seconds> max_age) override {
    const std::chrono::seconds cookie_max_age = max_age.value_or(options_.max_age);
    if (key.empty() || key.size() > options_.max_key_bytes) return Errc::kInvalidArgument;
    if (meta.size() > options_.max_meta_bytes) return Errc::kInvalidArgument;

    // One CSPRNG call for token and id: each call is a system call.
    std::array<std::uint8_t, kTokenBytes + kSessionIdBytes> random{};
    RandomBytes(random);
    StoredSession session;
    Token token{};
    std::copy_n(random.begin(), kTokenBytes, token.begin());
    std::copy_n(random.begin() + kTokenBytes, kSessionIdBytes, session.id.begin());
    session.id[6] = static_cast<std::uint8_t>((session.id[6] & 0x0f) | 0x40);  // UUID version 4
    session.id[8] = static_cast<std::uint8_t>((session.id[8] & 0x3f) | 0x80);  // RFC 4122 variant
    session.token_hash = HashToken(token);
    const TimePoint now = options_.clock();
    session.created_ms = session.last_seen_ms = StoredMillis(now);
    session.expires_ms = std::min(session.created_ms + std::chrono::duration_cast<milliseconds>(Lifetime(cookie_max_age)).count(),
                                  kMaxUnixMillis);
    session.meta.assign(meta);

    const std::string kid = KeyId(key, options_.pepper);
    auto written = Mutate(kid, key, std::nullopt, [&](Record& record) -> Result<bool> {
      record.sessions.push_back(session);
      // Evict by position: a record lists sessions in the order they were
      // written, whatever the clocks of the servers that wrote them said
      // (sorting by created_ms let a server whose clock runs ahead make a
      // new login evict itself). The new session is last and max >= 1, so
      // it is never evicted, and the cookie below names a written session.
      const std::size_t max = options_.max_sessions_per_key;
      if (max != 0 && record.sessions.size() > max) {
        record.sessions.erase(record.sessions.begin(),
                              record.sessions.end() - static_cast<std::ptrdiff_t>(max));
      }
      return true;
    });
    if (!written) return written.error();

    Issued issued;
    issued.session = ToSession(key, session);
    issued.set_cookie.push_back(BuildSetCookie(options_.cookie, options_.cookie.name,
                                               FormatSessionCookie(kid, token),
                                               cookie_max_age, now));
    return issued;
  }

  CheckResult Check(std::string_view cookie_header) override {
    CheckResult result;
    auto first = FindCookie(cookie_header, options_.cookie.name);
    if (!first) return result;  // kAbsent
    result = CheckValue(*first);
    if (result.ok() || result.status == CheckStatus::kStoreError) return result;
    // Browsers send every cookie of that name whose path/domain match, most
    // specific first; a stale one must not hide a live session. Bounded.
    auto all = FindCookies(cookie_header, options_.cookie.name, kMaxCandidates);
    for (std::size_t i = 1; i < all.size(); ++i) {
      CheckResult next = CheckValue(all[i]);
      if (next.ok() || next.status == CheckStatus::kStoreError) return next;
    }
    return result;
  }

  Result<std::vector<std::string>> Clear(std::string_view cookie_header) override {
    for (std::string_view value : FindCookies(cookie_header, options_.cookie.name, kMaxCandidates)) {
      auto cookie = ParseSessionCookie(value);
      if (!cookie) continue;
      const TokenHash hash = HashToken(cookie->token);
      // No write unless a session matched: a forged cookie naming someone's
      // kid must not touch (and so race with) that key's record.
      auto cleared = Mutate(cookie->kid, {}, std::nullopt, [&](Record& record) -> Result<bool> {
        return std::erase_if(record.sessions, [&](const StoredSession& s) {
                 return ConstantTimeEqual(s.token_hash, hash);
               }) != 0;
      });
      if (!cleared) return cleared.error();
    }
    return std::vector<std::string>{BuildExpiredCookie(options_.cookie, options_.cookie.name)};
  }

  Result<std::size_t> DeleteAll(std::string_view key) override {
    if (key.empty()) return Errc::kInvalidArgument;
    const std::string store_key = StoreKey(KeyId(key, options_.pepper));
    auto fetched = options_.store->Fetch(store_key);
    if (!fetched) return fetched.error();
    std::size_t live = 0;
    if (fetched->has_value()) {
      const std::int64_t now_ms = StoredMillis(options_.clock());
      auto visited = VisitRecord((*fetched)->value, [&](const SessionView& s) {
        if (IsLive(s.expires_ms, s.last_seen_ms, now_ms)) ++live;
      });
      if (!visited) return visited.error();
    }
    // Unconditional: a login that commits after this point survives (it
    // happened after the revoke); none that committed before can come back,
    // since its writer's next compare-and-swap sees the key gone.
    auto erased = options_.store->Erase(store_key);
    if (!erased) return erased.error();
    return live;
  }

  Result<std::size_t> DeleteSome(std::string_view key, std::span<const SessionId> ids) override {
    if (key.empty()) return Errc::kInvalidArgument;
    std::size_t removed = 0;
    auto done = Mutate(KeyId(key, options_.pepper), {}, std::nullopt, [&](Record& record) -> Result<bool> {
      removed = std::erase_if(record.sessions, [&](const StoredSession& s) {
        return std::find(ids.begin(), ids.end(), s.id) != ids.end();
      });
      return removed != 0;
    });
    if (!done) return done.error();
    return removed;
  }

  Result<std::vector<Session>> SessionsForKey(std::string_view key) override {
    if (key.empty()) return Errc::kInvalidArgument;
    auto fetched = options_.store->Fetch(StoreKey(KeyId(key, options_.pepper)));
    if (!fetched) return fetched.error();
    std::vector<Session> out;
    if (!fetched->has_value()) return out;
    auto record = DecodeRecord((*fetched)->value);
    if (!record) return record.error();
    const std::int64_t now_ms = StoredMillis(options_.clock());
    for (const StoredSession& s : record->sessions) {
      if (IsLive(s.expires_ms, s.last_seen_ms, now_ms)) out.push_back(ToSession(record->key, s));
    }
    return out;
  }

  Result<Issued> Rotate(std::string_view cookie_header) override {
    Token token{};
    RandomBytes(token);
    const TokenHash fresh = HashToken(token);
    const TimePoint now = options_.clock();
    for (std::string_view value : FindCookies(cookie_header, options_.cookie.name, kMaxCandidates)) {
      auto cookie = ParseSessionCookie(value);
      if (!cookie) continue;
      const TokenHash current = HashToken(cookie->token);
      // The session is found by its current token, inside the
      // compare-and-swap: of two concurrent Rotates with one cookie, the
      // second no longer finds that token and fails, so the cookie the first
      // one returned stays valid.
      std::optional<Session> rotated;
      auto done = Mutate(cookie->kid, {}, std::nullopt, [&](Record& record) -> Result<bool> {
        rotated.reset();
        for (StoredSession& s : record.sessions) {
          if (!ConstantTimeEqual(s.token_hash, current)) continue;
          s.token_hash = fresh;
          s.last_seen_ms = std::max(s.last_seen_ms, StoredMillis(now));
          rotated = ToSession(record.key, s);
          return true;
        }
        return false;
      });
      if (!done) return done.error();
      if (!rotated) continue;
      Issued issued;
      issued.session = std::move(*rotated);
      const auto remaining = std::chrono::duration_cast<std::chrono::seconds>(issued.session.expires - now);
      issued.set_cookie.push_back(BuildSetCookie(
          options_.cookie, options_.cookie.name, FormatSessionCookie(cookie->kid, token),
          options_.max_age.count() == 0 ? options_.max_age : std::max(remaining, std::chrono::seconds(1)), now));
      return issued;
    }
    return Errc::kSessionNotFound;
  }

 private:
  static constexpr std::size_t kMaxCandidates = 4;
  // Per-thread record buffers larger than this are released after use.
  static constexpr std::size_t kKeptRecordBuffer = 64 * 1024;
  // Empty records are written (not erased) when a change leaves no session,
  // so that the change stays a compare-and-swap; they expire soon after.
  static constexpr milliseconds kEmptyRecordTtl{1000};

  // Server-side lifetime of a session whose cookie has Max-Age `max_age`.
  std::chrono::seconds Lifetime(std::chrono::seconds max_age) const {
    return max_age.count() > 0 ? max_age : options_.session_cookie_lifetime;
  }

  // Times are stored times (0 ... kMaxUnixMillis, checked on decode), so the
  // differences below cannot overflow.
  bool IsLive(std::int64_t expires_ms, std::int64_t last_seen_ms, std::int64_t now_ms) const {
    if (now_ms >= expires_ms) return false;
    const std::int64_t idle_ms = std::chrono::duration_cast<milliseconds>(options_.idle_timeout).count();
    return idle_ms == 0 || now_ms - last_seen_ms < idle_ms;
  }

  std::string StoreKey(std::string_view kid) const {
    std::string key;
    key.reserve(options_.key_prefix.size() + kid.size());
    key.append(options_.key_prefix).append(kid);
    return key;
  }

  CheckResult CheckValue(std::string_view value) {
    CheckResult result;
    auto cookie = ParseSessionCookie(value);
    if (!cookie) {
      result.status = CheckStatus::kMalformed;
      return result;
    }
    // Reused per thread: the hot path builds the store key and reads the
    // record without allocating. A buffer grown by an unusually large record
    // is given back instead of being kept by the thread.
    // (One thread_local object: each one costs a __tls_get_addr call here.)
    struct Buffers {
      std::string store_key;
      std::string record;
    };
    thread_local Buffers buffers;
    std::string& record = buffers.record;
    buffers.store_key.assign(options_.key_prefix).append(cookie->kid);
    struct Trim {
      std::string& record;
      ~Trim() {
        if (record.capacity() > kKeptRecordBuffer) std::string().swap(record);
      }
    } trim{record};
    auto version = options_.store->FetchInto(buffers.store_key, record);
    if (!version) {
      result.status = CheckStatus::kStoreError;
      result.error = version.error();
      return result;
    }
    if (!version->has_value()) {
      result.status = CheckStatus::kUnknown;
      return result;
    }
    const TokenHash hash = HashToken(cookie->token);
    std::optional<SessionView> match;
    auto key = VisitRecord(record, [&](const SessionView& s) {
      if (ConstantTimeEqual(s.token_hash, hash)) match = s;
    });
    if (!key) {
      result.status = CheckStatus::kStoreError;
      result.error = key.error();
      return result;
    }
    if (!match) {
      result.status = CheckStatus::kUnknown;
      return result;
    }
    const TimePoint now = options_.clock();
    const std::int64_t now_ms = StoredMillis(now);
    if (!IsLive(match->expires_ms, match->last_seen_ms, now_ms)) {
      result.status = CheckStatus::kExpired;
      return result;
    }
    result.status = CheckStatus::kOk;
    Session& s = result.session;
    s.key.assign(*key);
    std::copy(match->id.begin(), match->id.end(), s.id.begin());
    s.created = FromUnixMillis(match->created_ms);
    s.expires = FromUnixMillis(match->expires_ms);
    s.last_seen = FromUnixMillis(match->last_seen_ms);
    s.meta.assign(match->meta);

    const std::int64_t touch_ms =
        std::chrono::duration_cast<milliseconds>(options_.touch_interval).count();
    if (touch_ms > 0 && now_ms - match->last_seen_ms >= touch_ms) {
      // Best effort: the read already proved the session; a failed touch
      // only delays the idle clock and is retried on a later request.
      const SessionId id = s.id;
      auto touched = Mutate(cookie->kid, {}, Versioned{record, **version}, [&](Record& r) -> Result<bool> {
        bool found = false;
        for (StoredSession& stored : r.sessions) {
          if (stored.id == id) {
            stored.last_seen_ms = std::max(stored.last_seen_ms, now_ms);
            found = true;
          }
        }
        return found;
      });
      if (touched) s.last_seen = now;
    }
    return result;
  }

  // Read-modify-compare-and-swap of the record under `kid`, retried with
  // jittered exponential back-off. `key` names the application key for a
  // record that does not exist yet (empty: do not create one). `snapshot`
  // is an already-fetched value to try first. `change` returns whether it
  // changed the record: false writes nothing (so a call that matched no
  // session causes no store write). Expired sessions are pruned on every
  // write; the record's TTL is its latest session expiry.
  template <typename Change>
  Result<void> Mutate(std::string_view kid, std::string_view key, std::optional<Versioned> snapshot,
                      Change&& change) {
    const std::string store_key = StoreKey(kid);
    auto backoff = options_.cas_backoff / 10;
    for (int attempt = 0; attempt < options_.cas_attempts; ++attempt) {
      Versioned current;
      bool exists = false;
      if (snapshot) {
        current = std::move(*snapshot);
        exists = true;
        snapshot.reset();
      } else {
        auto fetched = options_.store->Fetch(store_key);
        if (!fetched) return fetched.error();
        if (fetched->has_value()) {
          current = std::move(**fetched);
          exists = true;
        }
      }
      Record record;
      if (exists) {
        auto decoded = DecodeRecord(current.value);
        if (!decoded) return decoded.error();
        record = std::move(*decoded);
      } else {
        if (key.empty()) return {};  // nothing to change
        record.key.assign(key);
      }
      const std::int64_t now_ms = StoredMillis(options_.clock());
      std::erase_if(record.sessions, [&](const StoredSession& s) {
        return !IsLive(s.expires_ms, s.last_seen_ms, now_ms);
      });
      auto changed = change(record);
      if (!changed) return changed.error();
      if (!*changed || (!exists && record.sessions.empty())) return {};

      std::int64_t latest_ms = 0;
      for (const StoredSession& s : record.sessions) latest_ms = std::max(latest_ms, s.expires_ms);
      const milliseconds ttl = record.sessions.empty()
                                   ? kEmptyRecordTtl
                                   : std::max(milliseconds(1), milliseconds(latest_ms - now_ms));
      auto swapped = options_.store->CompareAndSwap(
          store_key, exists ? std::optional<Version>(current.version) : std::nullopt,
          EncodeRecord(record), ttl);
      if (!swapped) return swapped.error();
      if (*swapped) return {};
      if (backoff.count() > 0) {
        std::uniform_int_distribution<long long> jitter(0, backoff.count());
        std::this_thread::sleep_for(std::chrono::microseconds(jitter(JitterRng())));
        backoff = std::min(backoff * 2, options_.cas_backoff);
      }
    }
    return Errc::kConflict;
  }

  Options options_;
};

}  // namespace

std::unique_ptr<Strategy> MakeStatefulStrategy(Options options) {
  return std::make_unique<StatefulStrategy>(std::move(options));
}

}  // namespace jeff::detail
