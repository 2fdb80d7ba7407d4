#pragma once
// Internal: the stateful strategy's decisions, without I/O (sans-I/O).
//
// Each operation (Check, Set, Clear, DeleteAll, DeleteSome, List, Rotate,
// UpdateMeta) is a small state machine. It never touches a store, a clock or
// a timer: it returns a Step (fetch this key, compare-and-swap this value,
// erase this key, wait this long, or done) and a driver performs it and feeds the
// outcome back with the time it read. The synchronous driver
// (engine/stateful.cpp) blocks on a Store; the asynchronous one
// (async_sessions.cpp) runs on an AsyncStore and Asio timers. The rules
// (parsing, constant-time matching, pruning, eviction, the CAS retry loop and
// its back-off) exist only here.
//
// Every operation has the same driver interface:
//   Step Start();
//   Step OnFetched(Result<std::optional<Version>> version, TimePoint now);
//        (the fetched bytes are in buffer())
//   Step OnSwapped(Result<bool> swapped);
//   Step OnErased(Result<void> erased);
//   Step OnWaited();
//   std::string& buffer();   // where a fetch delivers the record's bytes
// and, once a Step of kind kDone was returned, its result in result().
// The views in a Step stay valid until the next call on the operation.

#include <jeff/detail/record.hpp>
#include <jeff/sessions.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jeff::engine {

// What an operation needs done next.
struct Step {
  enum class Kind : std::uint8_t { kFetch, kSwap, kErase, kWait, kDone };
  Kind kind = Kind::kDone;
  std::string_view key;              // kFetch, kSwap, kErase: the store key
  std::optional<Version> expected;   // kSwap: std::nullopt = only if absent
  std::string_view value;            // kSwap: the encoded record
  std::chrono::milliseconds ttl{};   // kSwap
  std::chrono::microseconds wait{};  // kWait: the back-off before the next attempt

  static Step Fetch(std::string_view key) { return {Kind::kFetch, key, {}, {}, {}, {}}; }
  static Step Erase(std::string_view key) { return {Kind::kErase, key, {}, {}, {}, {}}; }
  static Step Done() { return {}; }
  bool done() const noexcept { return kind == Kind::kDone; }
};

// `t` as a stored time: records hold 0 ... kMaxUnixMillis, so a clock
// outside that range is clamped into it.
std::int64_t StoredMillis(TimePoint t) noexcept;

// Whether a session's cookie is persistent (has Max-Age), given its stored
// ext key 1: the login's choice when recorded, else what Options::max_age
// implies (0: a browser-session cookie), the rule of records without it.
bool IsPersistent(const Options& options, std::optional<bool> stored) noexcept;

// What to store as ext key 1 for a login that chose `persistent`: nothing
// when Options::max_age implies that choice anyway (the record stays v1).
std::optional<bool> StoredPersistent(const Options& options, bool persistent) noexcept;

// Whether a session with these stored times is live at `now_ms` (absolute
// and idle expiry).
bool IsLive(const Options& options, std::int64_t expires_ms, std::int64_t last_seen_ms,
            std::int64_t now_ms) noexcept;

// `<key_prefix><kid>` into `out` (its capacity reused); `kid` must not
// point into `out`.
void AssignStoreKey(const Options& options, std::string_view kid, std::string& out);

// The key ids of `key` under the pepper ring: Options::pepper's first (the
// one new sessions are stored under), then each of Options::read_peppers'.
std::vector<std::string> RingKeyIds(const Options& options, std::string_view key);

// The most frozen records a read or a write follows from the record it
// began with (a longer chain is Errc::kStoreCorrupt).
inline constexpr int kMaxMoveHops = 3;

// Whether `record` (format v4) lists move `id` among those it absorbed.
bool HasAbsorbed(const Record& record, const MoveId& id) noexcept;

// One read-modify-compare-and-swap of the record under a kid, retried with
// jittered exponential back-off up to options.cas_attempts, then
// Errc::kConflict. Expired sessions (and absorbed moves past their
// until_ms) are pruned on every write; the record's TTL is its latest
// session expiry or absorbed until_ms; a change that leaves no session
// writes an empty record (kEmptyRecordTtl) rather than erasing; a change
// that changed nothing writes nothing, unless Begin was told to rewrite.
//
// Moves (docs/design.md, "Moving records to the newest key id"): a record
// found frozen is never written; its move is absorbed into its target
// first (helping whoever froze it), and the change applies to the target.
// With Options::move_records, a live record under a read pepper's key id
// is frozen first (one compare-and-swap), then absorbed the same way.
class Mutation {
 public:
  // Edits the record; returns whether it changed anything.
  using Change = std::function<Result<bool>(Record&)>;

  // What a change that changed nothing writes. kSkip: nothing. kRewrite:
  // the record as read (expired sessions pruned) through the same
  // compare-and-swap, so with a new version; a record that does not exist
  // is written empty (under `create_key`, which may then be empty). A
  // revoke on a store that waits for replicas (Store::WaitsForReplicas)
  // rewrites: the store acknowledges a write only once its replicas hold it
  // and every write of the key before it, so the revoke's success means
  // that what it read (perhaps a removal whose own acknowledgement failed)
  // survives a failover; a failed rewrite is the revoke's store error.
  enum class Unchanged : std::uint8_t { kSkip, kRewrite };

  // `buffer` receives fetched bytes (the owner's buffer()).
  Mutation(const Options& options, std::string& buffer) : options_(&options), buffer_(&buffer) {}

  // Starts a change of the record under `kid`. `create_key`: the
  // application key for a record that does not exist yet (empty: do not
  // create one), also given to a record read with an empty key (one that
  // kRewrite created empty). `snapshot`: buffer already holds the record
  // at this version (read at `now`), tried first without a fetch.
  Step Begin(std::string_view kid, std::string_view create_key, Change change,
             std::optional<Version> snapshot, TimePoint now, Unchanged unchanged = Unchanged::kSkip);
  Step OnFetched(Result<std::optional<Version>> version, TimePoint now);
  Step OnSwapped(Result<bool> swapped);
  Step OnWaited();

  // After kDone.
  const Result<void>& result() const noexcept { return result_; }
  // The store key of the record being changed (empty before Begin).
  std::string_view store_key() const noexcept { return store_key_; }
  // The key id of the record the change applied to: the one given to Begin,
  // or the target its record moved to.
  std::string_view kid() const noexcept { return kid_; }
  // Since Begin: whether this Mutation froze a record (began a move of its
  // own), and whether it absorbed a move into its target (its own, or one
  // that another writer froze and left unabsorbed).
  bool froze() const noexcept { return froze_; }
  bool absorbed() const noexcept { return absorbed_; }

 private:
  enum class Phase : std::uint8_t { kChange, kFreeze, kAbsorb };
  Step Decide(std::optional<Version> version, TimePoint now);
  // Whether the live record under kid_ is to be frozen (move_records).
  bool ShouldMove(const Record& record) const;
  // source_ is frozen: absorb its move into its target, then change that.
  Step StartAbsorb(TimePoint now);
  Step Absorb(std::optional<Version> version, TimePoint now);
  Step Write(std::optional<Version> version, const Record& record, std::int64_t now_ms);
  Step Finish(Result<void> result) {
    result_ = result;
    return Step::Done();
  }

  const Options* options_;
  std::string* buffer_;
  std::string kid_;
  std::string store_key_;
  std::string create_key_;
  Change change_;
  Unchanged unchanged_ = Unchanged::kSkip;
  std::string encoded_;
  std::string plain_;  // a sealed record's plaintext (Options::at_rest)
  int attempt_ = 0;
  std::chrono::microseconds backoff_{};
  Result<void> result_;
  Phase phase_ = Phase::kChange;
  Record source_;           // kFreeze, kAbsorb: the frozen record
  std::string source_kid_;  // its key id
  int hops_ = 0;
  bool froze_ = false;
  bool absorbed_ = false;
  TimePoint now_{};
};

// Sessions::Check: the session cookie among the request's cookies, read,
// matched in constant time, and touched when due (best effort).
//
// Moves: a frozen record is followed to the record that holds its
// sessions now (the farthest along its targets that absorbed the move;
// the frozen record itself when none did), one read per hop. A matched
// copy counts only when its origin is frozen under its move: seen so on
// the way, or read once more.
class CheckOp {
 public:
  // `cookie_header`, `buffer`, `store_key` and `result` must outlive the
  // operation. The outcome is written into `result` (a default
  // CheckResult): the driver's own, so that it is never moved or copied.
  CheckOp(const Options& options, std::string_view cookie_header, std::string& buffer,
          std::string& store_key, CheckResult& result)
      : options_(options), header_(cookie_header), buffer_(buffer), store_key_(store_key), result_(result) {}
  Step Start();
  Step OnFetched(Result<std::optional<Version>> version, TimePoint now);
  Step OnSwapped(Result<bool> swapped);
  Step OnErased(Result<void>) { return Step::Done(); }
  Step OnWaited() { return touch_->OnWaited(); }
  std::string& buffer() noexcept {
    if (stage_ == Stage::kFollow) return moves_->hops[moves_->fetch_slot].stored;
    if (stage_ == Stage::kOrigin) return moves_->origin.stored;
    return buffer_;
  }
  CheckResult& result() noexcept { return result_; }

 private:
  static constexpr std::size_t kMaxCandidates = 4;
  enum class Stage : std::uint8_t { kCookie, kFollow, kOrigin, kTouch };
  // A record read while following moves: its bytes, and its plaintext when sealed.
  struct Read {
    std::string stored;
    std::string plain;
  };
  // The state of following moves, made only for a record frozen by a move
  // or a session copied by one (rare: only records under an old pepper's
  // key id). Most Checks never construct or destroy its buffers.
  struct Moves {
    // Declared (not implicit) so that std::optional<Moves> below sees a
    // default constructor while CheckOp is still incomplete (clang rejects
    // the implicit one there because of the member initializers).
    Moves();
    Read hops[2];
    Read origin;
    int fetch_slot = 0;
    int follows = 0;
    std::string follow_key;
    MoveId looking{};  // the move whose sessions the walk is after
    std::vector<std::pair<std::string, MoveId>> frozen_seen;
    std::string holder_kid;  // a holder's key id found by following a move
  };
  // What was read of the record that holds the session.
  struct Holder {
    std::optional<SessionView> match;
    std::string_view key;
    std::string_view kid;  // kid_ (the cookie's), or Moves::holder_kid
    int slot = -1;         // Moves::hops index, -1: buffer_ (the cookie's record)
  };
  Step TryCandidate(std::string_view value);
  Step Decided();
  Step AfterTouch(Step step);
  Step StoreError(std::error_code error);
  // Reads `bytes` (a record's opened bytes): the session matching the
  // cookie's token (into `match`, which must not be acted on after an
  // error), the key, whether frozen (and by which move), whether it lists
  // Moves::looking as absorbed.
  struct Scan {
    std::string_view key;
    std::optional<MoveRefView> moved_to;
    bool lists_looking = false;
  };
  Result<Scan> ScanRecord(std::string_view bytes, std::optional<SessionView>& match) const;
  Step FollowTo(std::string_view kid);
  Step Judge();
  Step Accept(std::optional<Version> snapshot);
  bool SeenFrozen(const MoveRefView& origin) const noexcept;

  const Options& options_;
  std::string_view header_;
  std::string& buffer_;
  std::string& store_key_;
  std::vector<std::string_view> candidates_;  // found only when the first one fails
  std::size_t next_ = 0;                      // candidates tried so far
  std::string_view kid_;
  std::string plain_;  // a sealed record's plaintext (Options::at_rest)
  TokenHash hash_{};
  TimePoint now_{};
  // The first candidate's outcome, reported when none is better; made only
  // when a later candidate is tried.
  std::optional<CheckResult> first_;
  CheckResult& result_;
  Stage stage_ = Stage::kCookie;
  std::optional<Moves> moves_;
  Holder holder_;
  std::optional<Version> cookie_version_;  // the cookie's record, when it holds the session
  // Made only for a session due a touch: most Checks need none, and an
  // idle Mutation still costs its construction and destruction.
  std::optional<Mutation> touch_;
};

// Sessions::CheckBearer (stateful): the Cookie header `<cookie name>=<token>`
// that makes CheckOp check the bearer token of `authorization_header`
// exactly as a session cookie. std::nullopt, with what to answer in `out`,
// when there is nothing to check: kAbsent for another scheme, kMalformed
// for a token that is not `<kid>.<token>`.
std::optional<std::string> BearerAsCookie(const Options& options, std::string_view authorization_header,
                                          CheckResult& out);

// The operations below are one Mutation, or a few in sequence, plus their
// own bookkeeping; their constructors copy what they keep.

// The driver interface of an operation that runs one Mutation at a time:
// store outcomes go to the Mutation, and each Step it ends with goes through
// Derived::Next (which may start the next Mutation or finish).
template <typename Derived>
class MutationOp {
 public:
  MutationOp(const MutationOp&) = delete;
  MutationOp& operator=(const MutationOp&) = delete;

  Step OnFetched(Result<std::optional<Version>> version, TimePoint now) {
    return Self().Next(mutation_.OnFetched(std::move(version), now));
  }
  Step OnSwapped(Result<bool> swapped) { return Self().Next(mutation_.OnSwapped(std::move(swapped))); }
  Step OnErased(Result<void>) { return Step::Done(); }  // a Mutation never erases
  Step OnWaited() { return mutation_.OnWaited(); }
  std::string& buffer() noexcept { return buffer_; }
  // The store key of the record changed last (for events).
  std::string_view store_key() const noexcept { return mutation_.store_key(); }

 protected:
  explicit MutationOp(const Options& options) : options_(options), mutation_(options, buffer_) {}

  const Options& options_;
  std::string buffer_;
  Mutation mutation_;

 private:
  Derived& Self() noexcept { return static_cast<Derived&>(*this); }
};

// Sessions::Set. `max_age`: SetOptions::max_age, range-checked. Fails at
// once (kDone with an error) for a bad key or meta. With
// Options::move_records, first one Mutation that changes nothing per read
// pepper (it moves a live record found there); the session is added where
// pepper's record is, or where it moved (the cookie names that record).
class SetOp : public MutationOp<SetOp> {
 public:
  SetOp(const Options& options, std::string_view key, std::string_view meta,
        std::optional<std::chrono::seconds> max_age, TimePoint now);
  Step Start();
  Result<Issued>& result() noexcept { return result_; }

 private:
  friend MutationOp;
  Step Next(Step step);
  Step BeginNext();

  std::vector<std::string> move_kids_;  // read peppers' key ids still to move from
  std::size_t moved_ = 0;               // of move_kids_, begun
  bool adding_ = false;                 // the Mutation that adds the session runs
  std::string key_;
  std::string kid_;
  std::chrono::seconds cookie_max_age_;
  TimePoint now_;
  StoredSession session_;
  Token token_{};
  Result<Issued> result_ = Errc::kInvalidArgument;
};

// Sessions::Clear, Sessions::Rotate, Sessions::Reauthenticated (a Rotate
// that also sets authenticated_at) and Sessions::UpdateMeta(cookie_header,
// meta): one Mutation per session cookie of the request until one matches
// (Rotate, Reauthenticated, UpdateMeta) or all were tried (Clear). The session is matched by
// its current token inside the compare-and-swap.
class CookieMutationOp : public MutationOp<CookieMutationOp> {
 public:
  enum class Kind { kClear, kRotate, kReauthenticate, kUpdateMeta };
  // `replicated`: the store waits for replicas (Store::WaitsForReplicas);
  // then a Clear rewrites each record it read, whether or not a session
  // matched (Mutation::Unchanged::kRewrite). `meta`: kUpdateMeta's new meta
  // (Errc::kInvalidArgument, without I/O, above Options::max_meta_bytes).
  CookieMutationOp(const Options& options, Kind kind, std::string_view cookie_header, TimePoint now,
                   bool replicated, std::string_view meta = {});
  Step Start();
  // Which operation.
  Kind kind() const noexcept { return kind_; }
  // Clear: the expired Set-Cookie values; others: unused.
  Result<std::vector<std::string>>& cleared() noexcept { return cleared_; }
  // Rotate, Reauthenticated: the rotated session and its cookie.
  Result<Issued>& rotated() noexcept { return rotated_; }
  // UpdateMeta: the session with its new meta.
  Result<Session>& updated() noexcept { return updated_; }

 private:
  friend MutationOp;
  static constexpr std::size_t kMaxCandidates = 4;
  Step NextCookie();
  Step Next(Step step);

  Kind kind_;
  Mutation::Unchanged unchanged_;  // for each cookie's Mutation
  std::vector<std::string> values_;
  std::size_t next_ = 0;
  TimePoint now_;
  std::string kid_;
  Token fresh_token_{};
  TokenHash fresh_{};
  TokenHash current_{};
  std::string meta_;
  std::optional<Session> rotated_session_;  // Rotate, UpdateMeta: the matched session
  Result<std::vector<std::string>> cleared_ = Errc::kInvalidArgument;
  Result<Issued> rotated_ = Errc::kSessionNotFound;
  Result<Session> updated_ = Errc::kSessionNotFound;
};

// Sessions::UpdateMeta(key, id, meta): the meta of session `id` of `key`,
// replaced in one Mutation of the record that holds it (the ring's key ids
// tried in order). Fails at once for a bad key or meta, as SetOp does;
// Errc::kSessionNotFound when `key` has no live session `id`.
class UpdateMetaOp : public MutationOp<UpdateMetaOp> {
 public:
  UpdateMetaOp(const Options& options, std::string_view key, const SessionId& id, std::string_view meta);
  Step Start();
  Result<Session>& result() noexcept { return result_; }

 private:
  friend MutationOp;
  Step Next(Step step);

  Step Begin();

  std::string key_;
  SessionId id_;
  std::string meta_;
  std::vector<std::string> kids_;  // the ring's key ids of key_, tried in order
  std::size_t next_ = 0;
  std::optional<Session> updated_;
  Result<Session> result_ = Errc::kInvalidArgument;
};

// Sessions::Delete(key, ids): one Mutation per key id of the ring. Fails
// at once for a bad key, as SetOp does.
class DeleteSomeOp : public MutationOp<DeleteSomeOp> {
 public:
  // `replicated`: the store waits for replicas (Store::WaitsForReplicas);
  // then each record read is rewritten even when none of `ids` was in it
  // (Mutation::Unchanged::kRewrite).
  DeleteSomeOp(const Options& options, std::string_view key, std::vector<SessionId> ids, bool replicated);
  Step Start();
  Result<std::size_t>& result() noexcept { return result_; }

 private:
  friend MutationOp;
  Step Next(Step step);

  Step Begin();

  std::string key_;
  std::vector<SessionId> ids_;
  Mutation::Unchanged unchanged_;
  std::vector<std::string> kids_;  // the ring's key ids of key_, each changed in turn
  std::size_t next_ = 0;
  std::size_t removed_ = 0;        // by the current record's change
  std::size_t removed_total_ = 0;  // by the records changed before it
  Result<std::size_t> result_ = Errc::kInvalidArgument;
};

// Sessions::MoveRecord: one Mutation that changes nothing, of the record
// under `store_key` (Options::key_prefix, then a key id), by a mover
// (Errc::kInvalidArgument, without I/O, unless Options::move_records and
// the key has the prefix). A live record under a read pepper's key id of
// its own key is frozen and absorbed into pepper's; a frozen one whose
// move no target absorbed yet is absorbed; anything else is left as it is.
class MoveOp : public MutationOp<MoveOp> {
 public:
  MoveOp(const Options& options, std::string_view store_key);
  Step Start();
  Result<MoveOutcome>& result() noexcept { return result_; }

 private:
  friend MutationOp;
  Step Next(Step step);

  std::string kid_;
  bool foreign_ = false;  // live sessions under a key id no pepper of the ring makes
  Result<MoveOutcome> result_ = Errc::kInvalidArgument;
};

// An operation that reads the records of an application key, one per key
// id of the pepper ring, in ring order (Errc::kInvalidArgument, without
// I/O, for an empty key or one over Options::max_key_bytes), and then the
// records moves link them to: a frozen record's target and a copy's origin
// (and, when `with_absorbed`, the origins a record absorbed), at most
// kMaxLinkedReads more (beyond: Errc::kStoreCorrupt).
class KeyReadOp {
 public:
  KeyReadOp(const KeyReadOp&) = delete;
  KeyReadOp& operator=(const KeyReadOp&) = delete;

  Step Start();
  Step OnSwapped(Result<bool>) { return Step::Done(); }
  Step OnErased(Result<void>) { return Step::Done(); }
  Step OnWaited() { return Step::Done(); }
  std::string& buffer() noexcept { return buffer_; }
  // The store key of the record read last (for events).
  std::string_view store_key() const noexcept { return store_key_; }

 protected:
  static constexpr std::size_t kMaxLinkedReads = 8;
  // A record read (std::nullopt: absent) under a key id.
  struct Read {
    std::string kid;
    std::optional<Record> record;
  };
  KeyReadOp(const Options& options, std::string_view key, bool with_absorbed = false)
      : options_(options), key_(key), with_absorbed_(with_absorbed) {}
  // Keeps the fetched record (queueing the records it links to), then
  // fetches the next; std::nullopt once all were read, or with the error.
  Result<std::optional<Step>> KeepAndFetchNext(Result<std::optional<Version>> version);
  // The live sessions of all that was read, each once (oldest first when
  // there are several records): a frozen record's only while no record
  // along its targets absorbed its move; a copy only while its origin is
  // frozen under its move.
  Result<std::vector<Session>> LiveSessions(TimePoint now) const;

  const Options& options_;
  std::string key_;
  std::string store_key_;
  std::string buffer_;
  std::string plain_;  // a sealed record's plaintext (Options::at_rest)
  std::vector<std::string> kids_;  // to read, in order (the ring's, then linked ones)
  std::size_t next_ = 0;
  std::vector<Read> reads_;

 private:
  std::optional<Step> FetchNext();
  void Queue(std::string_view kid);
  const Read* Find(std::string_view kid) const;
  bool ChainAbsorbed(std::string_view kid, const MoveId& id) const;
  bool with_absorbed_;
  std::size_t ring_size_ = 0;
};

// Sessions::Delete(key): reads every record of the key (and those its
// moves link to, absorbed origins included) to count the live sessions,
// then erases each unconditionally, origins before the records that
// absorbed them. On a store that waits for replicas (`replicated`:
// Store::WaitsForReplicas) each record read is instead emptied by a
// Mutation that always writes (Mutation::Unchanged::kRewrite), in the same
// order: an erase of a key already gone writes nothing the store could
// wait for, a rewrite always does. A frozen record is not written then:
// its Mutation empties the target that absorbed its move.
class DeleteAllOp : public KeyReadOp {
 public:
  DeleteAllOp(const Options& options, std::string_view key, bool replicated)
      : KeyReadOp(options, key, true), replicated_(replicated) {}
  Step OnFetched(Result<std::optional<Version>> version, TimePoint now);
  Step OnSwapped(Result<bool> swapped);
  Step OnErased(Result<void> erased);
  Step OnWaited();
  Result<std::size_t>& result() noexcept { return result_; }
  // The store key written (or read) last (for events).
  std::string_view store_key() const noexcept;

 private:
  Step WriteNext();
  Step AfterRewrite(Step step);
  bool replicated_;
  std::vector<std::string> write_;  // key ids, in erase (or rewrite) order
  std::size_t written_ = 0;
  std::optional<Mutation> rewrite_;  // replicated, once the reads are done
  std::size_t live_ = 0;
  Result<std::size_t> result_ = Errc::kInvalidArgument;
};

// Sessions::SessionsForKey: one read per key id of the ring (and per record
// a move links them to).
class ListOp : public KeyReadOp {
 public:
  ListOp(const Options& options, std::string_view key) : KeyReadOp(options, key) {}
  Step OnFetched(Result<std::optional<Version>> version, TimePoint now);
  Result<std::vector<Session>>& result() noexcept { return result_; }

 private:
  Result<std::vector<Session>> result_ = Errc::kInvalidArgument;
};

}  // namespace jeff::engine
