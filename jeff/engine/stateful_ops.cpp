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

bool HasAbsorbed(const Record& record, const MoveId& id) noexcept {
  return std::any_of(record.absorbed.begin(), record.absorbed.end(),
                     [&](const StoredAbsorbed& a) { return a.move_id == id; });
}

namespace {

// The latest time anything in `record` must be kept to: its sessions'
// expiry and its absorbed moves' until_ms (a target must remember a move
// as long as its origin may exist).
std::int64_t KeepUntilMs(const Record& record) {
  std::int64_t latest_ms = 0;
  for (const StoredSession& s : record.sessions) latest_ms = std::max(latest_ms, s.expires_ms);
  for (const StoredAbsorbed& a : record.absorbed) latest_ms = std::max(latest_ms, a.until_ms);
  return latest_ms;
}

// Drops the sessions past their expiry or idle, and the absorbed moves past
// their until_ms.
void Prune(const Options& options, Record& record, std::int64_t now_ms) {
  std::erase_if(record.sessions, [&](const StoredSession& s) {
    return !IsLive(options, s.expires_ms, s.last_seen_ms, now_ms);
  });
  std::erase_if(record.absorbed, [&](const StoredAbsorbed& a) { return a.until_ms <= now_ms; });
}

// Evicts by position above max_sessions_per_key: a record lists sessions in
// the order they were written, whatever the clocks of the servers that wrote
// them said (sorting by created_ms let a server whose clock runs ahead make
// a new login evict itself).
void Evict(const Options& options, Record& record) {
  const std::size_t max = options.max_sessions_per_key;
  if (max != 0 && record.sessions.size() > max) {
    record.sessions.erase(record.sessions.begin(), record.sessions.end() - static_cast<std::ptrdiff_t>(max));
  }
}

// The decoded record in `stored` (sealed or not) under `store_key`.
Result<Record> OpenAndDecode(const Options& options, std::string_view store_key, const std::string& stored,
                             std::string& plain) {
  const Result<std::string_view> opened = OpenRecord(options.at_rest, store_key, stored, plain);
  if (!opened) return opened.error();
  return DecodeRecord(*opened);
}

}  // namespace

Step Mutation::Begin(std::string_view kid, std::string_view create_key, Change change,
                     std::optional<Version> snapshot, TimePoint now, Unchanged unchanged) {
  kid_.assign(kid);
  AssignStoreKey(*options_, kid, store_key_);
  create_key_.assign(create_key);
  change_ = std::move(change);
  unchanged_ = unchanged;
  attempt_ = 0;
  backoff_ = options_->cas_backoff / 10;
  result_ = {};
  phase_ = Phase::kChange;
  hops_ = 0;
  froze_ = false;
  absorbed_ = false;
  if (snapshot) return Decide(snapshot, now);
  return Step::Fetch(store_key_);
}

Step Mutation::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (!version) return Finish(version.error());
  if (phase_ == Phase::kAbsorb) return Absorb(*version, now);
  return Decide(*version, now);
}

bool Mutation::ShouldMove(const Record& record) const {
  if (!options_->move_records || record.sessions.empty()) return false;
  const std::string target = KeyId(record.key, options_->pepper);
  // Never back to where it came from (a misconfigured step-1 server would
  // otherwise make a cycle of frozen records).
  if (kid_ == target || std::any_of(record.absorbed.begin(), record.absorbed.end(),
                                    [&](const StoredAbsorbed& a) { return a.origin_kid == target; })) {
    return false;
  }
  return std::any_of(options_->read_peppers.begin(), options_->read_peppers.end(),
                     [&](const std::string& pepper) { return kid_ == KeyId(record.key, pepper); });
}

Step Mutation::Decide(std::optional<Version> version, TimePoint now) {
  phase_ = Phase::kChange;
  now_ = now;
  const bool exists = version.has_value();
  const bool rewrite = unchanged_ == Unchanged::kRewrite;
  Record record;
  if (exists) {
    auto decoded = OpenAndDecode(*options_, store_key_, *buffer_, plain_);
    if (!decoded) return Finish(decoded.error());
    record = std::move(*decoded);
    // An empty record that a rewrite made without knowing the key (Clear).
    if (record.key.empty()) record.key = create_key_;
  } else {
    if (create_key_.empty() && !rewrite) return Finish({});  // nothing to change
    record.key = create_key_;
  }
  const std::int64_t now_ms = StoredMillis(now);
  Prune(*options_, record, now_ms);
  if (record.moved_to) {
    // Frozen: read-only for everyone; its sessions live on in the target.
    source_ = std::move(record);
    return StartAbsorb(now);
  }
  if (exists && ShouldMove(record)) {
    // Freeze first: from here on this content is the one every mover copies.
    MoveId id;
    RandomBytes(id);
    record.moved_to = StoredMoveRef{KeyId(record.key, options_->pepper), id};
    source_ = record;
    phase_ = Phase::kFreeze;
    return Write(version, record, now_ms);
  }
  auto changed = change_(record);
  if (!changed) return Finish(changed.error());
  if (!rewrite && (!*changed || (!exists && record.sessions.empty()))) return Finish({});
  return Write(version, record, now_ms);
}

Step Mutation::Write(std::optional<Version> version, const Record& record, std::int64_t now_ms) {
  const milliseconds ttl = record.sessions.empty() && record.absorbed.empty()
                               ? kEmptyRecordTtl
                               : std::max(milliseconds(1), milliseconds(KeepUntilMs(record) - now_ms));
  encoded_ = SealRecord(options_->at_rest, store_key_, EncodeRecord(record));
  return Swap(store_key_, version, encoded_, ttl);
}

Step Mutation::StartAbsorb(TimePoint now) {
  if (++hops_ > kMaxMoveHops) return Finish(Errc::kStoreCorrupt);
  source_kid_ = kid_;
  kid_ = source_.moved_to->kid;
  AssignStoreKey(*options_, kid_, store_key_);
  phase_ = Phase::kAbsorb;
  attempt_ = 0;
  backoff_ = options_->cas_backoff / 10;
  now_ = now;
  return Step::Fetch(store_key_);
}

Step Mutation::Absorb(std::optional<Version> version, TimePoint now) {
  Record target;
  if (version) {
    auto decoded = OpenAndDecode(*options_, store_key_, *buffer_, plain_);
    if (!decoded) return Finish(decoded.error());
    target = std::move(*decoded);
  } else {
    target.key = source_.key;
  }
  const MoveId& id = source_.moved_to->move_id;
  if (HasAbsorbed(target, id)) {
    // Absorbed already (by us or another server). A frozen target moved on
    // with the sessions: follow it; else change it, from this very read.
    if (target.moved_to) {
      source_ = std::move(target);
      return StartAbsorb(now);
    }
    return Decide(version, now);
  }
  if (target.moved_to) {
    // Frozen without this move: it never will have it, so the move goes
    // on to the target's target.
    if (++hops_ > kMaxMoveHops) return Finish(Errc::kStoreCorrupt);
    kid_ = target.moved_to->kid;
    AssignStoreKey(*options_, kid_, store_key_);
    return Step::Fetch(store_key_);
  }
  const std::int64_t now_ms = StoredMillis(now);
  Prune(*options_, target, now_ms);
  Prune(*options_, source_, now_ms);
  // The copies go first (they are older than what the target holds, and
  // eviction removes from the front), each tagged with its origin; copies
  // the source holds from earlier moves keep their tags, and the moves
  // they came by are remembered here too.
  std::vector<StoredSession> merged;
  merged.reserve(source_.sessions.size() + target.sessions.size());
  for (StoredSession& s : source_.sessions) {
    if (!s.origin) s.origin = StoredMoveRef{source_kid_, id};
    merged.push_back(s);
  }
  for (StoredSession& s : target.sessions) merged.push_back(std::move(s));
  target.sessions = std::move(merged);
  bool adds = !source_.sessions.empty();
  for (const StoredAbsorbed& a : source_.absorbed) {
    if (HasAbsorbed(target, a.move_id)) continue;
    target.absorbed.push_back(a);
    adds = true;
  }
  // Nothing live to move (every session of the source ended): the change
  // goes to the target as it is.
  if (!adds) return Decide(version, now);
  target.absorbed.push_back(StoredAbsorbed{source_kid_, id, std::max(KeepUntilMs(source_), now_ms + 1)});
  Evict(*options_, target);
  return Write(version, target, now_ms);
}

Step Mutation::OnSwapped(Result<bool> swapped) {
  if (!swapped) return Finish(swapped.error());
  if (*swapped) {
    if (phase_ == Phase::kFreeze) {
      froze_ = true;
      return StartAbsorb(now_);
    }
    if (phase_ == Phase::kAbsorb) {
      absorbed_ = true;
      // Absorbed: on to the change, in the target, from a fresh read.
      phase_ = Phase::kChange;
      attempt_ = 0;
      backoff_ = options_->cas_backoff / 10;
      return Step::Fetch(store_key_);
    }
    return Finish({});
  }
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
  stage_ = Stage::kCookie;
  if (moves_) {
    moves_->follows = 0;
    moves_->frozen_seen.clear();
  }
  holder_.match.reset();  // the rest of holder_ is set with a match
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

Step CheckOp::StoreError(std::error_code error) {
  result_.status = CheckStatus::kStoreError;
  result_.error = error;
  return Decided();
}

Result<CheckOp::Scan> CheckOp::ScanRecord(std::string_view bytes, std::optional<SessionView>& match) const {
  Scan scan;
  RecordReader reader(bytes);
  // Reads a v4 record's record-level map too (moved_to, absorbed).
  const Result<std::string_view> key = reader.FindTokenHash(hash_, match);
  if (!key) return key.error();
  scan.key = *key;
  scan.moved_to = reader.moved_to();
  if (stage_ == Stage::kFollow) scan.lists_looking = reader.HasAbsorbed(moves_->looking);
  return scan;
}

Step CheckOp::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (stage_ == Stage::kTouch) return AfterTouch(touch_->OnFetched(std::move(version), now));
  if (stage_ == Stage::kCookie) {
    // The first candidate's result_ is still the default one; a later one's
    // was moved from (into first_) or filled (malformed).
    if (next_ > 1) result_ = CheckResult{};
    now_ = now;
  }
  if (!version) return StoreError(version.error());
  if (stage_ == Stage::kOrigin) {
    // A copy counts only while its origin is frozen under its move.
    const std::optional<MoveRefView> origin = holder_.match->origin();
    bool frozen_so = false;
    if (version->has_value()) {
      Read& read = moves_->origin;
      const Result<std::string_view> opened = OpenRecord(options_.at_rest, moves_->follow_key, read.stored, read.plain);
      if (!opened) return StoreError(opened.error());
      RecordReader reader(*opened);
      while (reader.Next()) {
      }
      if (const Result<std::string_view> key = reader.Finish(); !key) return StoreError(key.error());
      const std::optional<MoveRefView> moved_to = reader.moved_to();
      frozen_so = moved_to && std::equal(moved_to->move_id.begin(), moved_to->move_id.end(), origin->move_id.begin());
    }
    if (!frozen_so) {
      result_.status = CheckStatus::kUnknown;
      return Decided();
    }
    return Accept(std::nullopt);
  }
  if (!version->has_value()) {
    if (stage_ == Stage::kFollow) return Judge();  // the target holds nothing: the holder stays
    result_.status = CheckStatus::kUnknown;
    return Decided();
  }
  // A sealed record is opened into its plaintext buffer (the views below
  // point into it); one in clear is read where it is. Every session's token
  // hash is compared; only the match becomes a view.
  const bool follow = stage_ == Stage::kFollow;
  Read* read = follow ? &moves_->hops[moves_->fetch_slot] : nullptr;
  const Result<std::string_view> opened =
      follow ? OpenRecord(options_.at_rest, moves_->follow_key, read->stored, read->plain)
             : OpenRecord(options_.at_rest, store_key_, buffer_, plain_);
  if (!opened) return StoreError(opened.error());
  // The cookie's record is the holder (until a move says otherwise): its
  // match is read straight into holder_. A followed one becomes the holder
  // only when it absorbed the move the walk is after.
  std::optional<SessionView> followed;
  const Result<Scan> scan = ScanRecord(*opened, follow ? followed : holder_.match);
  if (!scan) return StoreError(scan.error());
  if (!follow) {
    holder_.key = scan->key;
    holder_.kid = kid_;
    holder_.slot = -1;
    cookie_version_ = **version;
  } else if (scan->lists_looking) {
    Moves& moves = *moves_;
    moves.holder_kid.assign(std::string_view(moves.follow_key).substr(options_.key_prefix.size()));
    holder_ = Holder{followed, scan->key, moves.holder_kid, moves.fetch_slot};
    cookie_version_ = std::nullopt;
  }
  if (scan->moved_to) {
    Moves& moves = moves_ ? *moves_ : moves_.emplace();
    if (!follow || scan->lists_looking) {
      // The holder moved on: its sessions are wherever its move went.
      std::copy(scan->moved_to->move_id.begin(), scan->moved_to->move_id.end(), moves.looking.begin());
    }
    moves.frozen_seen.emplace_back(follow ? moves.follow_key.substr(options_.key_prefix.size()) : std::string(kid_),
                                   MoveId{});
    std::copy(scan->moved_to->move_id.begin(), scan->moved_to->move_id.end(), moves.frozen_seen.back().second.begin());
    return FollowTo(scan->moved_to->kid);
  }
  return Judge();
}

CheckOp::Moves::Moves() = default;

Step CheckOp::FollowTo(std::string_view kid) {
  Moves& moves = *moves_;
  if (++moves.follows > kMaxMoveHops) return StoreError(make_error_code(Errc::kStoreCorrupt));
  // Never into the holder's buffer: its views must stay valid.
  moves.fetch_slot = holder_.slot == 0 ? 1 : holder_.slot == 1 ? 0 : (moves.follows % 2);
  stage_ = Stage::kFollow;
  AssignStoreKey(options_, kid, moves.follow_key);
  return Step::Fetch(moves.follow_key);
}

bool CheckOp::SeenFrozen(const MoveRefView& origin) const noexcept {
  if (!moves_) return false;
  return std::any_of(moves_->frozen_seen.begin(), moves_->frozen_seen.end(), [&](const auto& seen) {
    return seen.first == origin.kid && std::equal(seen.second.begin(), seen.second.end(), origin.move_id.begin());
  });
}

// The holder is known: judge its match (after making sure a copy's origin
// still stands).
Step CheckOp::Judge() {
  if (!holder_.match) {
    result_.status = CheckStatus::kUnknown;
    return Decided();
  }
  if (!holder_.match->ext.empty()) {
    if (const std::optional<MoveRefView> origin = holder_.match->origin(); origin && !SeenFrozen(*origin)) {
      stage_ = Stage::kOrigin;
      Moves& moves = moves_ ? *moves_ : moves_.emplace();
      AssignStoreKey(options_, origin->kid, moves.follow_key);
      return Step::Fetch(moves.follow_key);
    }
  }
  return Accept(cookie_version_);
}

// The match is a live record's session: expiry, device binding, the
// result, and the touch when due. `snapshot`: the version of the bytes in
// buffer_ when they are the holder's (the touch's first attempt then needs
// no read).
Step CheckOp::Accept(std::optional<Version> snapshot) {
  const SessionView& match = *holder_.match;
  const std::int64_t now_ms = StoredMillis(now_);
  if (!IsLive(options_, match.expires_ms, match.last_seen_ms, now_ms)) {
    result_.status = CheckStatus::kExpired;
    return Decided();
  }
  // DBSC: a bound session's cookie alone is not enough (it serves only the
  // refresh endpoint). Off, bindings are ignored.
  if (options_.device_binding.enabled && match.device_key() &&
      !HasValidBoundCookie(options_, header_, match, now_ms)) {
    result_.status = CheckStatus::kDeviceProofRequired;
    return Decided();
  }
  result_.status = CheckStatus::kOk;
  Session& s = result_.session;
  s.key = std::string(holder_.key);  // constructed: cheaper than assign's replace for a fresh key
  std::copy(match.id.begin(), match.id.end(), s.id.begin());
  s.created = FromUnixMillis(match.created_ms);
  s.expires = FromUnixMillis(match.expires_ms);
  s.last_seen = FromUnixMillis(match.last_seen_ms);
  if (!match.meta.empty()) s.meta.assign(match.meta);  // result_ is a fresh one: its meta is empty
  // A session without an ext map (every session of a v1 record) has none of
  // its entries: no need to look for them.
  const bool has_ext = !match.ext.empty();
  s.device_bound = has_ext && match.device_key().has_value();
  s.persistent = IsPersistent(options_, has_ext ? match.persistent() : std::nullopt);
  const std::optional<std::int64_t> authenticated_ms = has_ext ? match.authenticated_at_ms() : std::nullopt;
  s.authenticated_at = FromUnixMillis(authenticated_ms.value_or(match.created_ms));

  const std::int64_t touch_ms = std::chrono::duration_cast<milliseconds>(options_.touch_interval).count();
  if (touch_ms <= 0 || now_ms - match.last_seen_ms < touch_ms) return Step::Done();
  // Best effort: the read already proved the session; a failed touch only
  // delays the idle clock and is retried on a later request. A holder read
  // while following a move is written through its own Mutation's read.
  stage_ = Stage::kTouch;
  touch_.emplace(options_, buffer_);
  const SessionId id = s.id;
  return AfterTouch(touch_->Begin(
      holder_.kid, {},
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
      holder_.slot == -1 ? snapshot : std::nullopt, now_));
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
  if (options_.move_records) {
    std::vector<std::string> kids = RingKeyIds(options_, key_);
    move_kids_.assign(std::make_move_iterator(kids.begin() + 1), std::make_move_iterator(kids.end()));
  }
  return BeginNext();
}

Step SetOp::BeginNext() {
  if (moved_ < move_kids_.size()) {
    // Changes nothing: a live record there is moved (Mutation), then left.
    return Next(mutation_.Begin(move_kids_[moved_++], {}, [](Record&) -> Result<bool> { return false; },
                                std::nullopt, now_));
  }
  adding_ = true;
  return Next(mutation_.Begin(
      kid_, key_,
      [this](Record& record) -> Result<bool> {
        record.sessions.push_back(session_);
        // The new session is last and max >= 1, so it is never evicted, and
        // the cookie names a written session.
        Evict(options_, record);
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
  if (!adding_) return BeginNext();
  // Where the session was added: pepper's record, or its target when a
  // step-1 server's pepper record had moved on.
  kid_.assign(mutation_.kid());
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

DeleteSomeOp::DeleteSomeOp(const Options& options, std::string_view key, std::vector<SessionId> ids,
                           bool replicated)
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
        removed_ = std::erase_if(record.sessions, [&](const StoredSession& s) {
          return std::find(ids_.begin(), ids_.end(), s.id) != ids_.end();
        });
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

// ---- Moving one record (jeffctl sessions rekey) ----------------------------------

MoveOp::MoveOp(const Options& options, std::string_view store_key) : MutationOp(options) {
  if (options.move_records && store_key.starts_with(options.key_prefix)) {
    kid_.assign(store_key.substr(options.key_prefix.size()));
  }
}

Step MoveOp::Start() {
  if (kid_.empty()) return Step::Done();
  return Next(mutation_.Begin(
      kid_, {},
      [this](Record& record) -> Result<bool> {
        // Reached only by a record that is not moved: tell one no pepper of
        // the ring reaches by key (its sessions escape Delete(key)).
        if (mutation_.kid() == kid_ && !record.sessions.empty()) {
          const std::vector<std::string> ring = RingKeyIds(options_, record.key);
          foreign_ = std::find(ring.begin(), ring.end(), kid_) == ring.end();
        }
        return false;
      },
      std::nullopt, TimePoint{}));
}

Step MoveOp::Next(Step step) {
  if (!step.done()) return step;
  if (!mutation_.result()) {
    result_ = mutation_.result().error();
  } else if (mutation_.froze()) {
    result_ = MoveOutcome::kMoved;
  } else if (mutation_.absorbed()) {
    result_ = MoveOutcome::kFinished;
  } else {
    result_ = foreign_ ? MoveOutcome::kForeign : MoveOutcome::kNone;
  }
  return step;
}

// ---- Reads of one key ----------------------------------------------------------------

Step KeyReadOp::Start() {
  if (key_.empty() || key_.size() > options_.max_key_bytes) return Step::Done();
  kids_ = RingKeyIds(options_, key_);
  ring_size_ = kids_.size();
  return *FetchNext();
}

std::optional<Step> KeyReadOp::FetchNext() {
  if (next_ == kids_.size()) return std::nullopt;
  AssignStoreKey(options_, kids_[next_++], store_key_);
  return Step::Fetch(store_key_);
}

void KeyReadOp::Queue(std::string_view kid) {
  if (std::find(kids_.begin(), kids_.end(), kid) == kids_.end()) kids_.emplace_back(kid);
}

Result<std::optional<Step>> KeyReadOp::KeepAndFetchNext(Result<std::optional<Version>> version) {
  if (!version) return version.error();
  Read& read = reads_.emplace_back();
  read.kid = kids_[next_ - 1];
  if (version->has_value()) {
    auto record = OpenAndDecode(options_, store_key_, buffer_, plain_);
    if (!record) return record.error();
    if (record->moved_to) Queue(record->moved_to->kid);
    for (const StoredSession& s : record->sessions) {
      if (s.origin) Queue(s.origin->kid);
    }
    if (with_absorbed_) {
      for (const StoredAbsorbed& a : record->absorbed) Queue(a.origin_kid);
    }
    read.record = std::move(*record);
  }
  if (kids_.size() > ring_size_ + kMaxLinkedReads) return Errc::kStoreCorrupt;
  return FetchNext();
}

const KeyReadOp::Read* KeyReadOp::Find(std::string_view kid) const {
  for (const Read& read : reads_) {
    if (read.kid == kid) return &read;
  }
  return nullptr;
}

// Whether a record along the targets from `kid` absorbed move `id` (the
// sessions it moved then live there, or further on).
bool KeyReadOp::ChainAbsorbed(std::string_view kid, const MoveId& id) const {
  for (int hop = 0; hop < kMaxMoveHops; ++hop) {
    const Read* read = Find(kid);
    if (!read || !read->record) return false;
    if (HasAbsorbed(*read->record, id)) return true;
    if (!read->record->moved_to) return false;
    kid = read->record->moved_to->kid;
  }
  return false;
}

Result<std::vector<Session>> KeyReadOp::LiveSessions(TimePoint now) const {
  const std::int64_t now_ms = StoredMillis(now);
  std::vector<Session> sessions;
  std::size_t records = 0;
  for (const Read& read : reads_) {
    if (!read.record) continue;
    const Record& record = *read.record;
    if (record.moved_to && ChainAbsorbed(record.moved_to->kid, record.moved_to->move_id)) continue;
    ++records;
    for (const StoredSession& s : record.sessions) {
      if (!IsLive(options_, s.expires_ms, s.last_seen_ms, now_ms)) continue;
      if (s.origin) {
        const Read* origin = Find(s.origin->kid);
        if (!origin || !origin->record || !origin->record->moved_to ||
            origin->record->moved_to->move_id != s.origin->move_id) {
          continue;  // its origin no longer stands: a dead copy
        }
      }
      if (std::any_of(sessions.begin(), sessions.end(), [&](const Session& seen) { return seen.id == s.id; })) {
        continue;
      }
      sessions.push_back(ToSession(options_, record.key, s));
    }
  }
  // Each record lists its sessions oldest first; several records are merged
  // by creation time.
  if (records > 1) {
    std::stable_sort(sessions.begin(), sessions.end(),
                     [](const Session& a, const Session& b) { return a.created < b.created; });
  }
  return sessions;
}

// ---- Delete(key) -------------------------------------------------------------------

Step DeleteAllOp::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  if (rewrite_) return AfterRewrite(rewrite_->OnFetched(std::move(version), now));
  auto next = KeepAndFetchNext(std::move(version));
  if (!next) {
    result_ = next.error();
    return Step::Done();
  }
  if (*next) return **next;
  auto live = LiveSessions(now);
  if (!live) {
    result_ = live.error();
    return Step::Done();
  }
  live_ = live->size();
  // Origins first: a copy lives only while its origin stands, so once the
  // origins are gone no copy of theirs can come back, whichever mover lands
  // late. Then the rest, each erase unconditional: a login that commits
  // after it survives (it happened after the revoke); none that committed
  // before can come back, since its writer's next compare-and-swap sees the
  // key gone. (Replicated: each rewritten empty instead, in the same order.)
  for (const Read& read : reads_) {
    if (read.record && read.record->moved_to) write_.push_back(read.kid);
  }
  for (const Read& read : reads_) {
    if (std::find(write_.begin(), write_.end(), read.kid) == write_.end()) write_.push_back(read.kid);
  }
  return WriteNext();
}

Step DeleteAllOp::WriteNext() {
  if (written_ == write_.size()) {
    result_ = live_;
    return Step::Done();
  }
  const std::string& kid = write_[written_++];
  if (!replicated_) {
    AssignStoreKey(options_, kid, store_key_);
    return Step::Erase(store_key_);
  }
  // A Mutation that empties the record and writes it even when it held
  // nothing (or did not exist), so that the store waits for each. One
  // found frozen is never written: its move is absorbed into its target
  // (if no one did yet), which is then emptied and written; the target
  // lists the move, so the frozen record's sessions count nowhere.
  if (!rewrite_) rewrite_.emplace(options_, buffer_);
  return AfterRewrite(rewrite_->Begin(
      kid, key_,
      [](Record& record) -> Result<bool> {
        const bool had = !record.sessions.empty();
        record.sessions.clear();
        return had;
      },
      std::nullopt, TimePoint{}, Mutation::Unchanged::kRewrite));
}

Step DeleteAllOp::AfterRewrite(Step step) {
  if (!step.done()) return step;
  if (!rewrite_->result()) {
    result_ = rewrite_->result().error();
    return step;
  }
  return WriteNext();
}

Step DeleteAllOp::OnSwapped(Result<bool> swapped) {
  return rewrite_ ? AfterRewrite(rewrite_->OnSwapped(std::move(swapped))) : Step::Done();
}

Step DeleteAllOp::OnErased(Result<void> erased) {
  if (!erased) {
    result_ = erased.error();
    return Step::Done();
  }
  return WriteNext();
}

Step DeleteAllOp::OnWaited() { return rewrite_ ? rewrite_->OnWaited() : Step::Done(); }

std::string_view DeleteAllOp::store_key() const noexcept {
  return rewrite_ ? rewrite_->store_key() : std::string_view(store_key_);
}

// ---- SessionsForKey ------------------------------------------------------------------

Step ListOp::OnFetched(Result<std::optional<Version>> version, TimePoint now) {
  auto next = KeepAndFetchNext(std::move(version));
  if (!next) {
    result_ = next.error();
    return Step::Done();
  }
  if (*next) return **next;
  result_ = LiveSessions(now);
  return Step::Done();
}

}  // namespace jeff::engine
