#include <jeff/engine/stateful_ops.hpp>

#include <jeff/detail/bearer.hpp>
#include <jeff/detail/sealed_record.hpp>
#include <jeff/detail/session_cookie.hpp>
#include <jeff/engine/device_binding.hpp>

#include <algorithm>
#include <random>

namespace jeff::engine {
namespace {

using std::chrono::milliseconds;
using detail::FormatSessionCookie;
using detail::ParseSessionCookie;

// Empty records are written (not erased) when a change leaves no session, so
// that the change stays a compare-and-swap; they expire soon after.
constexpr milliseconds kEmptyRecordTtl{1000};

// Per-thread jitter source for CAS back-off; not security relevant.
std::minstd_rand& JitterRng() {
  thread_local std::minstd_rand rng(std::random_device{}());
  return rng;
}

Session ToSession(const Options& options, std::string_view key, const StoredSession& s) {
  Session session{std::string(key), s.id, FromUnixMillis(s.created_ms), FromUnixMillis(s.expires_ms),
                  FromUnixMillis(s.last_seen_ms), s.meta,
                  FromUnixMillis(s.authenticated_at_ms.value_or(s.created_ms))};
  session.persistent = IsPersistent(options, s.persistent);
  session.device_bound = s.device_key.has_value();
  return session;
}

// UpdateMeta's change of the matched session `s` of `key`'s record: its meta
// becomes `meta`, and `updated` the session as it now is. Returns whether
// the record changed (an equal meta writes nothing).
bool ReplaceMeta(const Options& options, std::string_view key, StoredSession& s, std::string_view meta,
                 std::optional<Session>& updated) {
  const bool changed = s.meta != meta;
  s.meta.assign(meta);
  updated = ToSession(options, key, s);
  return changed;
}

// Server-side lifetime of a session whose cookie has Max-Age `max_age`.
std::chrono::seconds Lifetime(const Options& options, std::chrono::seconds max_age) {
  return max_age.count() > 0 ? max_age : options.session_cookie_lifetime;
}

Step Swap(std::string_view key, std::optional<Version> expected, std::string_view value,
          milliseconds ttl) {
  return {Step::Kind::kSwap, key, expected, value, ttl, {}};
}

}  // namespace

std::int64_t StoredMillis(TimePoint t) noexcept {
  return std::clamp<std::int64_t>(ToUnixMillis(t), 0, kMaxUnixMillis);
}

bool IsPersistent(const Options& options, std::optional<bool> stored) noexcept {
  return stored.value_or(options.max_age.count() > 0);
}

std::optional<bool> StoredPersistent(const Options& options, bool persistent) noexcept {
  if (persistent == IsPersistent(options, std::nullopt)) return std::nullopt;
  return persistent;
}

// Times are stored times (0 ... kMaxUnixMillis, checked on decode), so the
// differences below cannot overflow.
bool IsLive(const Options& options, std::int64_t expires_ms, std::int64_t last_seen_ms,
            std::int64_t now_ms) noexcept {
  if (now_ms >= expires_ms) return false;
  const std::int64_t idle_ms = std::chrono::duration_cast<milliseconds>(options.idle_timeout).count();
  return idle_ms == 0 || now_ms - last_seen_ms < idle_ms;
}

void AssignStoreKey(const Options& options, std::string_view kid, std::string& out) {
  // One resize (a no-op for a buffer that held a store key before: they
  // all have one length) and two copies, rather than assign and append.
  const std::string& prefix = options.key_prefix;
  out.resize(prefix.size() + kid.size());
  std::copy(prefix.begin(), prefix.end(), out.begin());
  std::copy(kid.begin(), kid.end(), out.begin() + static_cast<std::ptrdiff_t>(prefix.size()));
}

std::vector<std::string> RingKeyIds(const Options& options, std::string_view key) {
  std::vector<std::string> kids;
  kids.reserve(1 + options.read_peppers.size());
  kids.push_back(KeyId(key, options.pepper));
  for (const std::string& pepper : options.read_peppers) kids.push_back(KeyId(key, pepper));
  return kids;
}

// ---- Mutation ---------------------------------------------------------------

Step Mutation::Begin(std::string_view kid, std::string_view create_key, Change change,
                     std::optional<Version> snapshot, TimePoint now, Unchanged unchanged) {
  AssignStoreKey(*options_, kid, store_key_);
  create_key_.assign(create_key);
  change_ = std::move(change);
  unchanged_ = unchanged;
  attempt_ = 0;
  backoff_ = options_->cas_backoff / 10;
  result_ = {};
  if (snapshot) return Decide(snapshot, now);
  return Step::Fetch(store_key_);
}

Step Mutation::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (!version) return Finish(version.error());
  return Decide(*version, now);
}

Step Mutation::Decide(std::optional<Version> version, TimePoint now) {
  const bool exists = version.has_value();
  const bool rewrite = unchanged_ == Unchanged::kRewrite;
  Record record;
  if (exists) {
    const Result<std::string_view> opened = OpenRecord(options_->at_rest, store_key_, *buffer_, plain_);
    if (!opened) return Finish(opened.error());
    auto decoded = DecodeRecord(*opened);
    if (!decoded) return Finish(decoded.error());
    record = std::move(*decoded);
    // An empty record that a rewrite made without knowing the key (Clear).
    if (record.key.empty()) record.key = create_key_;
  } else {
    if (create_key_.empty() && !rewrite) return Finish({});  // nothing to change
    record.key = create_key_;
  }
  const std::int64_t now_ms = StoredMillis(now);
  std::erase_if(record.sessions, [&](const StoredSession& s) {
    return !IsLive(*options_, s.expires_ms, s.last_seen_ms, now_ms);
  });
  auto changed = change_(record);
  if (!changed) return Finish(changed.error());
  if (!rewrite && (!*changed || (!exists && record.sessions.empty()))) return Finish({});

  std::int64_t latest_ms = 0;
  for (const StoredSession& s : record.sessions) latest_ms = std::max(latest_ms, s.expires_ms);
  const milliseconds ttl = record.sessions.empty()
                               ? kEmptyRecordTtl
                               : std::max(milliseconds(1), milliseconds(latest_ms - now_ms));
  encoded_ = SealRecord(options_->at_rest, store_key_, EncodeRecord(record));
  return Swap(store_key_, version, encoded_, ttl);
}

Step Mutation::OnSwapped(Result<bool> swapped) {
  if (!swapped) return Finish(swapped.error());
  if (*swapped) return Finish({});
  if (++attempt_ >= options_->cas_attempts) return Finish(Errc::kConflict);
  if (backoff_.count() > 0) {
    std::uniform_int_distribution<long long> jitter(0, backoff_.count());
    Step wait;
    wait.kind = Step::Kind::kWait;
    wait.wait = std::chrono::microseconds(jitter(JitterRng()));
    backoff_ = std::min(backoff_ * 2, options_->cas_backoff);
    return wait;
  }
  return Step::Fetch(store_key_);
}

Step Mutation::OnWaited() { return Step::Fetch(store_key_); }

// ---- Check -------------------------------------------------------------------

Step CheckOp::Start() {
  auto first = FindCookie(header_, options_.cookie.name);
  if (!first) return Step::Done();  // kAbsent
  next_ = 1;
  return TryCandidate(*first);
}

Step CheckOp::TryCandidate(std::string_view value) {
  auto cookie = ParseSessionCookie(value);
  if (!cookie) {
    result_ = CheckResult{};
    result_.status = CheckStatus::kMalformed;
    return Decided();
  }
  kid_ = cookie->kid;
  hash_ = HashToken(cookie->token);
  AssignStoreKey(options_, kid_, store_key_);
  return Step::Fetch(store_key_);
}

// After a candidate's outcome is in result_: done, or on to the next one.
Step CheckOp::Decided() {
  if (result_.ok() || result_.status == CheckStatus::kStoreError) return Step::Done();
  // Browsers send every cookie of that name whose path/domain match, most
  // specific first; a stale one must not hide a live session. Bounded.
  if (next_ == 1) {
    first_.emplace(std::move(result_));
    candidates_ = FindCookies(header_, options_.cookie.name, kMaxCandidates);
  }
  if (next_ < candidates_.size()) return TryCandidate(candidates_[next_++]);
  result_ = std::move(*first_);
  return Step::Done();
}

Step CheckOp::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (touch_) return AfterTouch(touch_->OnFetched(std::move(version), now));
  // The first candidate's result_ is still the default one; a later one's
  // was moved from (into first_) or filled (malformed).
  if (next_ > 1) result_ = CheckResult{};
  if (!version) {
    result_.status = CheckStatus::kStoreError;
    result_.error = version.error();
    return Decided();
  }
  if (!version->has_value()) {
    result_.status = CheckStatus::kUnknown;
    return Decided();
  }
  // A sealed record is opened into plain_ (the views below point into it);
  // one in clear is read where it is. Every session's token hash is
  // compared; only the match becomes a view.
  const Result<std::string_view> opened = OpenRecord(options_.at_rest, store_key_, buffer_, plain_);
  std::optional<SessionView> match;
  Result<std::string_view> key = opened;
  if (opened) key = RecordReader(*opened).FindTokenHash(hash_, match);
  if (!key) {
    result_.status = CheckStatus::kStoreError;
    result_.error = key.error();
    return Decided();
  }
  if (!match) {
    result_.status = CheckStatus::kUnknown;
    return Decided();
  }
  const std::int64_t now_ms = StoredMillis(now);
  if (!IsLive(options_, match->expires_ms, match->last_seen_ms, now_ms)) {
    result_.status = CheckStatus::kExpired;
    return Decided();
  }
  // DBSC: a bound session's cookie alone is not enough (it serves only the
  // refresh endpoint). Off, bindings are ignored.
  if (options_.device_binding.enabled && match->device_key() &&
      !HasValidBoundCookie(options_, header_, *match, now_ms)) {
    result_.status = CheckStatus::kDeviceProofRequired;
    return Decided();
  }
  result_.status = CheckStatus::kOk;
  Session& s = result_.session;
  s.key = std::string(*key);  // constructed: cheaper than assign's replace for a fresh key
  std::copy(match->id.begin(), match->id.end(), s.id.begin());
  s.created = FromUnixMillis(match->created_ms);
  s.expires = FromUnixMillis(match->expires_ms);
  s.last_seen = FromUnixMillis(match->last_seen_ms);
  if (!match->meta.empty()) s.meta.assign(match->meta);  // result_ is a fresh one: its meta is empty
  // A session without an ext map (every session of a v1 record) has none of
  // its entries: no need to look for them.
  const bool has_ext = !match->ext.empty();
  s.device_bound = has_ext && match->device_key().has_value();
  s.persistent = IsPersistent(options_, has_ext ? match->persistent() : std::nullopt);
  const std::optional<std::int64_t> authenticated_ms = has_ext ? match->authenticated_at_ms() : std::nullopt;
  s.authenticated_at = FromUnixMillis(authenticated_ms.value_or(match->created_ms));

  const std::int64_t touch_ms = std::chrono::duration_cast<milliseconds>(options_.touch_interval).count();
  if (touch_ms <= 0 || now_ms - match->last_seen_ms < touch_ms) return Step::Done();
  // Best effort: the read already proved the session; a failed touch only
  // delays the idle clock and is retried on a later request.
  touch_.emplace(options_, buffer_);
  now_ = now;
  const SessionId id = s.id;
  return AfterTouch(touch_->Begin(
      kid_, {},
      [id, now_ms](Record& r) -> Result<bool> {
        bool found = false;
        for (StoredSession& stored : r.sessions) {
          if (stored.id == id) {
            stored.last_seen_ms = std::max(stored.last_seen_ms, now_ms);
            found = true;
          }
        }
        return found;
      },
      **version, now));
}

Step CheckOp::OnSwapped(Result<bool> swapped) { return AfterTouch(touch_->OnSwapped(std::move(swapped))); }

Step CheckOp::AfterTouch(Step step) {
  if (!step.done()) return step;
  if (touch_->result()) result_.session.last_seen = now_;
  return step;
}

std::optional<std::string> BearerAsCookie(const Options& options, std::string_view authorization_header,
                                          CheckResult& out) {
  out = CheckResult{};
  const std::optional<std::string_view> token = detail::BearerToken(authorization_header);
  if (!token) return std::nullopt;  // another scheme: not ours to judge
  // Strict before it becomes a cookie: no ';' can smuggle in another one.
  if (!ParseSessionCookie(*token)) {
    out.status = CheckStatus::kMalformed;
    return std::nullopt;
  }
  std::string header = options.cookie.name;
  header.append("=").append(*token);
  return header;
}

// ---- Set ---------------------------------------------------------------------

SetOp::SetOp(const Options& options, std::string_view key, std::string_view meta,
             std::optional<std::chrono::seconds> max_age, TimePoint now)
    : MutationOp(options), key_(key), cookie_max_age_(max_age.value_or(options.max_age)), now_(now) {
  session_.meta.assign(meta);
}

Step SetOp::Start() {
  if (key_.empty() || key_.size() > options_.max_key_bytes) return Step::Done();
  if (session_.meta.size() > options_.max_meta_bytes) return Step::Done();
  // One CSPRNG call for token and id: each call is a system call.
  std::array<std::uint8_t, kTokenBytes + kSessionIdBytes> random{};
  RandomBytes(random);
  std::copy_n(random.begin(), kTokenBytes, token_.begin());
  std::copy_n(random.begin() + kTokenBytes, kSessionIdBytes, session_.id.begin());
  session_.id[6] = static_cast<std::uint8_t>((session_.id[6] & 0x0f) | 0x40);  // UUID version 4
  session_.id[8] = static_cast<std::uint8_t>((session_.id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  session_.token_hash = HashToken(token_);
  session_.created_ms = session_.last_seen_ms = StoredMillis(now_);
  session_.expires_ms =
      std::min(session_.created_ms +
                   std::chrono::duration_cast<milliseconds>(Lifetime(options_, cookie_max_age_)).count(),
               kMaxUnixMillis);
  // Recorded only when it differs from what Options::max_age implies, so
  // that a plain Set keeps the record in format v1.
  session_.persistent = StoredPersistent(options_, cookie_max_age_.count() > 0);
  kid_ = KeyId(key_, options_.pepper);
  if (options_.device_binding.enabled) session_.challenge = NewDeviceChallenge(options_, session_.created_ms);
  return Next(mutation_.Begin(
      kid_, key_,
      [this](Record& record) -> Result<bool> {
        record.sessions.push_back(session_);
        // Evict by position: a record lists sessions in the order they were
        // written, whatever the clocks of the servers that wrote them said
        // (sorting by created_ms let a server whose clock runs ahead make a
        // new login evict itself). The new session is last and max >= 1, so
        // it is never evicted, and the cookie names a written session.
        const std::size_t max = options_.max_sessions_per_key;
        if (max != 0 && record.sessions.size() > max) {
          record.sessions.erase(record.sessions.begin(),
                                record.sessions.end() - static_cast<std::ptrdiff_t>(max));
        }
        return true;
      },
      std::nullopt, now_));
}

Step SetOp::Next(Step step) {
  if (!step.done()) return step;
  if (!mutation_.result()) {
    result_ = mutation_.result().error();
    return step;
  }
  Issued issued;
  issued.session = ToSession(options_, key_, session_);
  issued.token = FormatSessionCookie(kid_, token_);
  issued.set_cookie.push_back(
      BuildSetCookie(options_.cookie, options_.cookie.name, issued.token, cookie_max_age_, now_));
  if (session_.challenge) issued.headers.push_back(RegistrationHeader(options_, *session_.challenge));
  result_ = std::move(issued);
  return step;
}

// ---- Clear and Rotate ----------------------------------------------------------

CookieMutationOp::CookieMutationOp(const Options& options, Kind kind, std::string_view cookie_header,
                                   TimePoint now, bool replicated, std::string_view meta)
    : MutationOp(options), kind_(kind),
      unchanged_(kind == Kind::kClear && replicated ? Mutation::Unchanged::kRewrite : Mutation::Unchanged::kSkip),
      now_(now), meta_(meta) {
  for (std::string_view value : FindCookies(cookie_header, options.cookie.name, kMaxCandidates)) {
    values_.emplace_back(value);
  }
  if (kind_ == Kind::kRotate || kind_ == Kind::kReauthenticate) {
    RandomBytes(fresh_token_);
    fresh_ = HashToken(fresh_token_);
  }
}

Step CookieMutationOp::Start() {
  if (kind_ == Kind::kUpdateMeta && meta_.size() > options_.max_meta_bytes) {
    updated_ = Errc::kInvalidArgument;
    return Step::Done();
  }
  return NextCookie();
}

Step CookieMutationOp::NextCookie() {
  while (next_ < values_.size()) {
    auto cookie = ParseSessionCookie(values_[next_++]);
    if (!cookie) continue;
    kid_.assign(cookie->kid);
    current_ = HashToken(cookie->token);
    Mutation::Change change;
    if (kind_ == Kind::kClear) {
      // No write unless a session matched: a forged cookie naming someone's
      // kid must not touch (and so race with) that key's record.
      change = [this](Record& record) -> Result<bool> {
        return std::erase_if(record.sessions, [&](const StoredSession& s) {
                 return ConstantTimeEqual(s.token_hash, current_);
               }) != 0;
      };
    } else if (kind_ == Kind::kUpdateMeta) {
      change = [this](Record& record) -> Result<bool> {
        rotated_session_.reset();
        for (StoredSession& s : record.sessions) {
          if (!ConstantTimeEqual(s.token_hash, current_)) continue;
          return ReplaceMeta(options_, record.key, s, meta_, rotated_session_);
        }
        return false;
      };
    } else {
      // The session is found by its current token, inside the
      // compare-and-swap: of two concurrent Rotates with one cookie, the
      // second no longer finds that token and fails, so the cookie the first
      // one returned stays valid.
      change = [this](Record& record) -> Result<bool> {
        rotated_session_.reset();
        for (StoredSession& s : record.sessions) {
          if (!ConstantTimeEqual(s.token_hash, current_)) continue;
          s.token_hash = fresh_;
          s.last_seen_ms = std::max(s.last_seen_ms, StoredMillis(now_));
          if (kind_ == Kind::kReauthenticate) {
            // Recorded only when it differs from created_ms (the record may
            // stay v1); never before the login itself.
            const std::int64_t at_ms = std::max(s.created_ms, StoredMillis(now_));
            s.authenticated_at_ms = at_ms == s.created_ms ? std::nullopt : std::optional<std::int64_t>(at_ms);
          }
          rotated_session_ = ToSession(options_, record.key, s);
          return true;
        }
        return false;
      };
    }
    return Next(mutation_.Begin(kid_, {}, std::move(change), std::nullopt, now_, unchanged_));
  }
  if (kind_ == Kind::kClear) {
    cleared_ = std::vector<std::string>{BuildExpiredCookie(options_.cookie, options_.cookie.name)};
  }
  return Step::Done();  // Rotate: kSessionNotFound stays
}

Step CookieMutationOp::Next(Step step) {
  if (!step.done()) return step;
  if (!mutation_.result()) {
    cleared_ = mutation_.result().error();
    rotated_ = mutation_.result().error();
    updated_ = mutation_.result().error();
    return step;
  }
  if (kind_ == Kind::kUpdateMeta && rotated_session_) {
    updated_ = std::move(*rotated_session_);
    return step;
  }
  if ((kind_ == Kind::kRotate || kind_ == Kind::kReauthenticate) && rotated_session_) {
    Issued issued;
    issued.session = std::move(*rotated_session_);
    // The kind of cookie the login chose: a browser-session cookie stays
    // one; a persistent one lasts as long as the session still does.
    std::chrono::seconds max_age{0};
    if (issued.session.persistent) {
      max_age = std::max(std::chrono::duration_cast<std::chrono::seconds>(issued.session.expires - now_),
                         std::chrono::seconds(1));
    }
    issued.token = FormatSessionCookie(kid_, fresh_token_);
    issued.set_cookie.push_back(BuildSetCookie(options_.cookie, options_.cookie.name, issued.token, max_age, now_));
    rotated_ = std::move(issued);
    return step;
  }
  return NextCookie();
}

// ---- UpdateMeta(key, id, meta) ---------------------------------------------------

UpdateMetaOp::UpdateMetaOp(const Options& options, std::string_view key, const SessionId& id,
                           std::string_view meta)
    : MutationOp(options), key_(key), id_(id), meta_(meta) {}

Step UpdateMetaOp::Start() {
  if (key_.empty() || key_.size() > options_.max_key_bytes) return Step::Done();
  if (meta_.size() > options_.max_meta_bytes) return Step::Done();
  kids_ = RingKeyIds(options_, key_);
  return Begin();
}

Step UpdateMetaOp::Begin() {
  return Next(mutation_.Begin(
      kids_[next_++], {},
      [this](Record& record) -> Result<bool> {
        updated_.reset();
        for (StoredSession& s : record.sessions) {
          if (s.id == id_) return ReplaceMeta(options_, record.key, s, meta_, updated_);
        }
        return false;
      },
      std::nullopt, TimePoint{}));
}

Step UpdateMetaOp::Next(Step step) {
  if (!step.done()) return step;
  // A session lives in one record: the next key id's only while not found.
  if (mutation_.result() && !updated_ && next_ < kids_.size()) return Begin();
  if (!mutation_.result()) {
    result_ = mutation_.result().error();
  } else if (updated_) {
    result_ = std::move(*updated_);
  } else {
    result_ = Errc::kSessionNotFound;
  }
  return step;
}

// ---- Delete(key, ids) ------------------------------------------------------------

DeleteSomeOp::DeleteSomeOp(const Options& options, std::string_view key,
                           std::optional<std::vector<SessionId>> ids, bool replicated)
    : MutationOp(options), key_(key), ids_(std::move(ids)),
      unchanged_(replicated ? Mutation::Unchanged::kRewrite : Mutation::Unchanged::kSkip) {}

Step DeleteSomeOp::Start() {
  if (key_.empty() || key_.size() > options_.max_key_bytes) return Step::Done();
  kids_ = RingKeyIds(options_, key_);
  return Begin();
}

Step DeleteSomeOp::Begin() {
  removed_ = 0;
  // The time of a Mutation without snapshot is the one its fetch brings.
  return Next(mutation_.Begin(
      kids_[next_++], key_,
      [this](Record& record) -> Result<bool> {
        if (!ids_) {
          removed_ = record.sessions.size();
          record.sessions.clear();
        } else {
          removed_ = std::erase_if(record.sessions, [&](const StoredSession& s) {
            return std::find(ids_->begin(), ids_->end(), s.id) != ids_->end();
          });
        }
        return removed_ != 0;
      },
      std::nullopt, TimePoint{}, unchanged_));
}

Step DeleteSomeOp::Next(Step step) {
  if (!step.done()) return step;
  if (!mutation_.result()) {
    result_ = mutation_.result().error();
    return step;
  }
  removed_total_ += removed_;
  if (next_ < kids_.size()) return Begin();
  result_ = removed_total_;
  return step;
}

// ---- Reads of one key ----------------------------------------------------------------

Step KeyReadOp::Start() {
  if (key_.empty() || key_.size() > options_.max_key_bytes) return Step::Done();
  kids_ = RingKeyIds(options_, key_);
  return *FetchNext();
}

std::optional<Step> KeyReadOp::FetchNext() {
  if (next_ == kids_.size()) return std::nullopt;
  AssignStoreKey(options_, kids_[next_++], store_key_);
  return Step::Fetch(store_key_);
}

// ---- Delete(key) -------------------------------------------------------------------

DeleteAllOp::DeleteAllOp(const Options& options, std::string_view key, bool replicated)
    : KeyReadOp(options, key) {
  if (replicated) all_.emplace(options, key, std::nullopt, true);
}

Step DeleteAllOp::Start() { return all_ ? all_->Start() : KeyReadOp::Start(); }

Step DeleteAllOp::OnSwapped(Result<bool> swapped) {
  return all_ ? all_->OnSwapped(std::move(swapped)) : Step::Done();
}

Step DeleteAllOp::OnWaited() { return all_ ? all_->OnWaited() : Step::Done(); }

std::string& DeleteAllOp::buffer() noexcept { return all_ ? all_->buffer() : buffer_; }

Result<std::size_t>& DeleteAllOp::result() noexcept { return all_ ? all_->result() : result_; }

std::string_view DeleteAllOp::store_key() const noexcept { return all_ ? all_->store_key() : store_key_; }

Step DeleteAllOp::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (all_) return all_->OnFetched(std::move(version), now);
  if (!version) {
    result_ = version.error();
    return Step::Done();
  }
  if (version->has_value()) {
    const std::int64_t now_ms = StoredMillis(now);
    const Result<std::string_view> opened = OpenRecord(options_.at_rest, store_key_, buffer_, plain_);
    Result<std::string_view> visited = opened;
    if (opened) {
      visited = VisitRecord(*opened, [&](const SessionView& s) {
        if (IsLive(options_, s.expires_ms, s.last_seen_ms, now_ms)) ++live_;
      });
    }
    if (!visited) {
      result_ = visited.error();
      return Step::Done();
    }
  }
  // Unconditional: a login that commits after this point survives (it
  // happened after the revoke); none that committed before can come back,
  // since its writer's next compare-and-swap sees the key gone.
  return Step::Erase(store_key_);
}

Step DeleteAllOp::OnErased(Result<void> erased) {
  if (all_) return all_->OnErased(std::move(erased));
  if (!erased) {
    result_ = erased.error();
    return Step::Done();
  }
  if (auto next = FetchNext()) return *next;
  result_ = live_;
  return Step::Done();
}

// ---- SessionsForKey ------------------------------------------------------------------

Step ListOp::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (!version) {
    result_ = version.error();
    return Step::Done();
  }
  if (version->has_value()) {
    const Result<std::string_view> opened = OpenRecord(options_.at_rest, store_key_, buffer_, plain_);
    if (!opened) {
      result_ = opened.error();
      return Step::Done();
    }
    auto record = DecodeRecord(*opened);
    if (!record) {
      result_ = record.error();
      return Step::Done();
    }
    const std::int64_t now_ms = StoredMillis(now);
    for (const StoredSession& s : record->sessions) {
      if (IsLive(options_, s.expires_ms, s.last_seen_ms, now_ms)) {
        sessions_.push_back(ToSession(options_, record->key, s));
      }
    }
  }
  if (auto next = FetchNext()) return *next;
  // Each record lists its sessions oldest first; several records are merged
  // by creation time.
  if (kids_.size() > 1) {
    std::stable_sort(sessions_.begin(), sessions_.end(),
                     [](const Session& a, const Session& b) { return a.created < b.created; });
  }
  result_ = std::move(sessions_);
  return Step::Done();
}

}  // namespace jeff::engine
