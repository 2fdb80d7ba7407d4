#include <jeff/async_sessions.hpp>

#include <jeff/engine/device_binding.hpp>
#include <jeff/engine/observer.hpp>
#include <jeff/engine/options.hpp>
#include <jeff/engine/stateful_ops.hpp>
#include <jeff/engine/stateless.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace jeff {

namespace async_detail {

namespace {

// What one thread keeps for reuse: blocks by size class (multiples of
// kBlockUnit up to kBlockClasses of them: a running Check is ~1.8 KB) and
// string buffers. The bounds cap what an idle thread holds (a few dozen
// calls' worth), not behaviour.
constexpr std::size_t kBlockUnit = 64;
constexpr std::size_t kBlockClasses = 64;
constexpr std::size_t kBlocksPerClass = 32;
constexpr std::size_t kStrings = 96;
constexpr std::size_t kStringCapacity = 4096;

struct FreeBlockLink {
  FreeBlockLink* next;
};

struct Pool {
  Pool() { strings.reserve(kStrings); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    for (FreeBlockLink* head : blocks) {
      while (head != nullptr) ::operator delete(std::exchange(head, head->next));
    }
  }

  FreeBlockLink* blocks[kBlockClasses] = {};
  std::size_t counts[kBlockClasses] = {};
  std::vector<std::string> strings;
};

// The thread's pool, made on first use. Trivially destructible and
// constant-initialized, so that each use is one TLS access without a guard;
// `gone` once the thread's exit freed the pool (blocks given back later are
// freed instead).
struct PoolSlot {
  Pool* pool;
  bool gone;
};
constinit thread_local PoolSlot slot{nullptr, false};

// Frees the pool at thread exit (a thread_local with a destructor,
// constructed only when the pool is made).
struct PoolOwner {
  PoolOwner() = default;
  PoolOwner(const PoolOwner&) = delete;
  PoolOwner& operator=(const PoolOwner&) = delete;
  ~PoolOwner() {
    delete std::exchange(slot.pool, nullptr);
    slot.gone = true;
  }
};

[[gnu::noinline]] Pool* MakePool() {
  if (slot.gone) return nullptr;
  [[maybe_unused]] thread_local PoolOwner owner;  // constructed here, once per thread
  slot.pool = new Pool();
  return slot.pool;
}

Pool* ThreadPool() {
  Pool* pool = slot.pool;
  return pool != nullptr ? pool : MakePool();
}

std::size_t SizeClass(std::size_t size) noexcept { return size == 0 ? 0 : (size - 1) / kBlockUnit; }

}  // namespace

void* AllocateBlock(std::size_t size) {
  const std::size_t size_class = SizeClass(size);
  if (size_class >= kBlockClasses) return ::operator new(size);
  if (Pool* pool = ThreadPool(); pool != nullptr && pool->blocks[size_class] != nullptr) {
    --pool->counts[size_class];
    return std::exchange(pool->blocks[size_class], pool->blocks[size_class]->next);
  }
  return ::operator new((size_class + 1) * kBlockUnit);
}

void FreeBlock(void* block, std::size_t size) noexcept {
  const std::size_t size_class = SizeClass(size);
  Pool* pool = nullptr;
  if (size_class < kBlockClasses) {
    try {
      pool = ThreadPool();
    } catch (...) {  // no memory for a pool: free the block instead
    }
  }
  if (pool == nullptr || pool->counts[size_class] == kBlocksPerClass) return ::operator delete(block);
  ++pool->counts[size_class];
  pool->blocks[size_class] = ::new (block) FreeBlockLink{pool->blocks[size_class]};
}

std::string RecycledString(std::string_view text) {
  Pool* pool = ThreadPool();
  if (pool == nullptr || pool->strings.empty()) return std::string(text);
  std::string s = std::move(pool->strings.back());
  pool->strings.pop_back();
  s.assign(text);
  return s;
}

void RecycleString(std::string& s) noexcept {
  // Only heap buffers are worth keeping (an empty string's is in place).
  if (s.capacity() > std::string().capacity() && s.capacity() <= kStringCapacity) {
    Pool* pool = slot.pool;  // a thread that recycled no block keeps no strings
    if (pool != nullptr && pool->strings.size() < kStrings) pool->strings.push_back(std::move(s));  // reserved
  }
  s.clear();
}

}  // namespace async_detail

namespace {

using engine::Step;

// A call the manager has started and its store or timer has not finished:
// the manager lists it so that its destructor can complete it.
class RunningCall {
 public:
  // The manager is going: complete with operation_canceled (posted, as
  // every completion) and touch the manager no more.
  virtual void Abort() = 0;

  RunningCall* prev = nullptr;
  RunningCall* next = nullptr;

 protected:
  RunningCall() = default;
  ~RunningCall() = default;
};

// A manager's running calls: an intrusive list (no allocation per call),
// used on the loop's thread only.
class RunningCalls {
 public:
  void Add(RunningCall& call) noexcept {
    call.next = head_;
    if (head_ != nullptr) head_->prev = &call;
    head_ = &call;
  }
  void Remove(RunningCall& call) noexcept {
    (call.prev != nullptr ? call.prev->next : head_) = call.next;
    if (call.next != nullptr) call.next->prev = call.prev;
    call.prev = call.next = nullptr;
  }
  // Aborts every call, emptying the list.
  void AbortAll() {
    while (head_ != nullptr) {
      RunningCall& call = *head_;
      Remove(call);
      call.Abort();
    }
  }

 private:
  RunningCall* head_ = nullptr;
};

// What running calls use of their manager.
struct Core {
  Core(Options validated, boost::asio::any_io_executor loop)
      : options(std::move(validated)), observer(options), executor(std::move(loop)) {}
  Options options;
  engine::Observer observer;            // the stateful strategy's counters
  boost::asio::any_io_executor executor;  // runs the back-off timers
  std::shared_ptr<AsyncStore> store;    // stateful strategy
  Store* direct = nullptr;              // store->NonBlockingStore(): called directly
  bool replicated = false;              // AsyncStore::WaitsForReplicas: revokes always write
  RunningCalls running;
};

std::error_code Canceled() { return std::make_error_code(std::errc::operation_canceled); }

// The outcome of a call whose manager was destroyed.
template <typename T>
T Aborted() {
  return T(Canceled());
}
template <>
CheckResult Aborted<CheckResult>() {
  CheckResult aborted;
  aborted.status = CheckStatus::kStoreError;
  aborted.error = Canceled();
  return aborted;
}

// The asynchronous driver: performs each Step of an operation on an
// AsyncStore (and back-offs on an Asio timer), resuming the operation from
// the store's completions, then hands `get(op)` to `done`. On a store with
// a NonBlockingStore it calls that directly, in a loop, reading into the
// operation's buffer: the operation then only suspends on a back-off.
//
// The running operation lives in a recycled block (AllocateBlock) and owns
// itself through the references (Ref) held by whoever may still resume it:
// the call that launched it while it runs, the handler given to the store,
// the timer's handler. A store that drops its handlers (destroyed with
// calls in flight) frees it too. While it runs it is on its manager's list;
// when the manager goes it is aborted (`core_` becomes null) and the
// store's late answer only frees it.
template <typename Op, typename T, typename Get>
class Running final : public RunningCall {
 public:
  // A counted reference; the last one frees the operation. Atomic: a
  // store's handler may be copied or dropped off the loop's thread.
  class Ref {
   public:
    explicit Ref(Running* running) noexcept : running_(running) { running_->refs_.fetch_add(1, std::memory_order_relaxed); }
    Ref(const Ref& other) noexcept : Ref(other.running_) {}
    Ref(Ref&& other) noexcept : running_(std::exchange(other.running_, nullptr)) {}
    Ref& operator=(const Ref&) = delete;
    ~Ref() {
      if (running_ != nullptr && running_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) running_->Free();
    }
    Running* operator->() const noexcept { return running_; }

   private:
    Running* running_;
  };

  // Starts `Op(core.options, args...)`; `done` gets `get(op)` once it is
  // done, or operation_canceled if the manager goes first.
  template <typename... Args>
  static void Launch(Core& core, async_detail::Completion<T> done, Get get, Args&&... args) {
    void* block = async_detail::AllocateBlock(sizeof(Running));
    Running* running;
    try {
      running = ::new (block) Running(core, std::move(done), std::move(get), std::forward<Args>(args)...);
    } catch (...) {
      async_detail::FreeBlock(block, sizeof(Running));
      throw;
    }
    const Ref self(running);
    core.running.Add(*running);
    running->Continue(running->op_.Start());
  }

  void Abort() override {
    core_ = nullptr;
    if (timer_) timer_->cancel();
    done_(Aborted<T>());
  }

 private:
  template <typename... Args>
  Running(Core& core, async_detail::Completion<T> done, Get get, Args&&... args)
      : core_(&core), done_(std::move(done)), get_(std::move(get)), op_(core.options, std::forward<Args>(args)...) {}
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    // Its handler dropped by the store without a call (the manager lives).
    if (core_ != nullptr) core_->running.Remove(*this);
  }

  void Free() noexcept {
    this->~Running();
    async_detail::FreeBlock(this, sizeof(Running));
  }

  // Performs `step` and the ones after it that need no wait. The caller
  // holds a Ref.
  void Continue(Step step) {
    for (;;) {
      if (step.done()) {
        core_->observer.Finished(op_);
        core_->running.Remove(*this);
        core_ = nullptr;
        done_(get_(op_));
        return;
      }
      Store* direct = core_->direct;
      AsyncStore& store = *core_->store;
      switch (step.kind) {
        case Step::Kind::kFetch:
          Begin(StoreOp::kFetch, step.key);
          if (direct != nullptr) {
            Result<std::optional<Version>> fetched = direct->FetchInto(step.key, op_.buffer());
            End(StoreOp::kFetch, fetched.error());
            step = op_.OnFetched(std::move(fetched), core_->options.clock());
            continue;
          }
          store.AsyncFetch(step.key, [self = Ref(this)](Result<std::optional<Versioned>> fetched) {
            if (self->core_ == nullptr) return;
            self->End(StoreOp::kFetch, fetched.error());
            self->Fetched(std::move(fetched));
          });
          return;
        case Step::Kind::kSwap:
          Begin(StoreOp::kCas, step.key);
          if (direct != nullptr) {
            Result<bool> swapped = direct->CompareAndSwap(step.key, step.expected, step.value, step.ttl);
            core_->observer.EndSwap(call_start_, swapped, call_key_);
            step = op_.OnSwapped(std::move(swapped));
            continue;
          }
          store.AsyncCompareAndSwap(step.key, step.expected, step.value, step.ttl,
                                    [self = Ref(this)](Result<bool> swapped) {
                                      if (self->core_ == nullptr) return;
                                      self->core_->observer.EndSwap(self->call_start_, swapped, self->call_key_);
                                      self->Continue(self->op_.OnSwapped(std::move(swapped)));
                                    });
          return;
        case Step::Kind::kErase:
          Begin(StoreOp::kErase, step.key);
          if (direct != nullptr) {
            Result<void> erased = direct->Erase(step.key);
            End(StoreOp::kErase, erased.error());
            step = op_.OnErased(std::move(erased));
            continue;
          }
          store.AsyncErase(step.key, [self = Ref(this)](Result<void> erased) {
            if (self->core_ == nullptr) return;
            self->End(StoreOp::kErase, erased.error());
            self->Continue(self->op_.OnErased(std::move(erased)));
          });
          return;
        case Step::Kind::kWait:
          if (!timer_) timer_.emplace(core_->executor);
          timer_->expires_after(step.wait);
          timer_->async_wait([self = Ref(this)](const boost::system::error_code&) {
            if (self->core_ == nullptr) return;
            self->Continue(self->op_.OnWaited());
          });
          return;
        case Step::Kind::kDone:
          return;
      }
    }
  }

  // A store call of `op` on `key` starts; the key is kept for an error
  // event only when the application asked for keys in events.
  void Begin(StoreOp op, std::string_view key) {
    call_start_ = core_->observer.StartCall(op);
    if (core_->options.events_include_key && core_->options.on_event) call_key_.assign(key);
  }
  void End(StoreOp op, std::error_code error) { core_->observer.EndCall(op, call_start_, error, call_key_); }

  void Fetched(Result<std::optional<Versioned>> fetched) {
    if (!fetched) return Continue(op_.OnFetched(fetched.error(), core_->options.clock()));
    std::optional<Version> version;
    if (fetched->has_value()) {
      op_.buffer() = std::move((*fetched)->value);
      version.emplace((*fetched)->version);
    }
    Continue(op_.OnFetched(version, core_->options.clock()));
  }

  std::atomic<std::uint32_t> refs_{0};
  Core* core_;  // null once finished or aborted
  engine::Observer::CallStart call_start_{};
  std::string call_key_;
  async_detail::Completion<T> done_;
  Get get_;
  Op op_;  // refers to core_->options, which it no longer reads once aborted
  std::optional<boost::asio::steady_timer> timer_;
};

// CheckOp keeps views: the header, buffers and result live beside it. The
// strings' buffers are recycled on the thread (a Check allocates none of
// them once the thread has run a few).
struct CheckState {
  explicit CheckState(std::string cookie_header)
      : header(std::move(cookie_header)), record(async_detail::RecycledString()),
        store_key(async_detail::RecycledString()) {}
  CheckState(const CheckState&) = delete;
  CheckState& operator=(const CheckState&) = delete;
  ~CheckState() {
    async_detail::RecycleString(header);
    async_detail::RecycleString(record);
    async_detail::RecycleString(store_key);
  }
  std::string header;
  std::string record;
  std::string store_key;
  CheckResult outcome;
};

}  // namespace

struct AsyncSessions::Impl : Core {
  Impl(Options validated, boost::asio::any_io_executor loop) : Core(std::move(validated), std::move(loop)) {}
  std::unique_ptr<engine::Strategy> stateless;  // or the stateless strategy (no I/O)

  // Starts an operation `Op(options, args...)` on the store; `done` gets
  // `get(op)` once it is done, or operation_canceled if the manager goes
  // first.
  template <typename Op, typename T, typename Get, typename... Args>
  void Launch(async_detail::Completion<T> done, Get get, Args&&... args) {
    Running<Op, T, Get>::Launch(*this, std::move(done), std::move(get), std::forward<Args>(args)...);
  }
};

AsyncSessions::AsyncSessions(Options options, std::shared_ptr<AsyncStore> store, executor_type executor)
    : executor_(std::move(executor)) {
  engine::RequireOption(options.store == nullptr,
                        "AsyncSessions takes its store as an AsyncStore; Options::store must be null");
  options = engine::ValidateOptions(std::move(options));
  const bool stateless = options.strategy == SessionStrategy::kStateless ||
                         (options.strategy == SessionStrategy::kAuto && store == nullptr);
  std::unique_ptr<engine::Strategy> stateless_strategy;
  if (stateless) {
    engine::RequireNoDeviceBinding(options);
    stateless_strategy = engine::MakeStatelessStrategy(options);
  } else {
    engine::RequireOption(store != nullptr, "a store is required (e.g. OpenAsyncStore(\"memory://\", ...))");
  }
  impl_ = std::make_unique<Impl>(std::move(options), executor_);
  if (stateless) impl_->stateless = std::move(stateless_strategy);
  impl_->store = std::move(store);
  impl_->direct = impl_->store != nullptr ? impl_->store->NonBlockingStore() : nullptr;
  impl_->replicated = impl_->store != nullptr && impl_->store->WaitsForReplicas();
}

AsyncSessions::~AsyncSessions() {
  // Before the store goes: it may drop the calls' handlers as it is destroyed.
  impl_->running.AbortAll();
}

const Options& AsyncSessions::options() const noexcept { return impl_->options; }

MetricsSnapshot AsyncSessions::metrics() const {
  return impl_->stateless ? impl_->stateless->metrics() : impl_->observer.Snapshot();
}

CheckResult AsyncSessions::CheckBearer(std::string_view authorization_header) {
  if (!impl_->stateless) return {};
  return impl_->stateless->CheckBearer(authorization_header);
}

void AsyncSessions::StartCheck(std::string cookie_header, Done<CheckResult> done) {
  if (impl_->stateless) return done(impl_->stateless->Check(cookie_header));
  // The header and the op's buffers live in one block with the op.
  struct Op : CheckState, engine::CheckOp {
    Op(const Options& options, std::string header)
        : CheckState(std::move(header)),
          engine::CheckOp(options, this->header, this->record, this->store_key, this->outcome) {}
  };
  impl_->Launch<Op>(std::move(done), [](Op& op) { return std::move(op.result()); },
             std::move(cookie_header));
}

void AsyncSessions::StartCheckBearer(std::string authorization_header, Done<CheckResult> done) {
  if (impl_->stateless) return done(impl_->stateless->CheckBearer(authorization_header));
  CheckResult none;
  std::optional<std::string> header = engine::BearerAsCookie(impl_->options, authorization_header, none);
  if (!header) return done(std::move(none));
  StartCheck(std::move(*header), std::move(done));
}

void AsyncSessions::StartSet(std::string key, std::string meta, SetOptions set_options,
                             Done<Result<Issued>> done) {
  const std::optional<std::chrono::seconds> max_age = set_options.max_age;
  if (max_age && (max_age->count() < 0 || *max_age > kMaxCookieLifetime)) return done(Errc::kInvalidArgument);
  if (impl_->stateless) return done(impl_->stateless->Set(key, meta, max_age));
  impl_->Launch<engine::SetOp>(std::move(done), [](engine::SetOp& op) { return std::move(op.result()); },
                        key, meta, max_age, impl_->options.clock());
}

void AsyncSessions::StartClear(std::string cookie_header, Done<Result<std::vector<std::string>>> done) {
  if (impl_->stateless) return done(impl_->stateless->Clear(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(std::move(done), [](Op& op) { return std::move(op.cleared()); },
             Op::Kind::kClear, cookie_header, impl_->options.clock(), impl_->replicated);
}

void AsyncSessions::StartDeleteAll(std::string key, Done<Result<std::size_t>> done) {
  if (impl_->stateless) return done(impl_->stateless->DeleteAll(key));
  impl_->Launch<engine::DeleteAllOp>(std::move(done), [](engine::DeleteAllOp& op) { return std::move(op.result()); },
                              key, impl_->replicated);
}

void AsyncSessions::StartDeleteSome(std::string key, std::vector<SessionId> ids, Done<Result<std::size_t>> done) {
  if (impl_->stateless) return done(impl_->stateless->DeleteSome(key, ids));
  impl_->Launch<engine::DeleteSomeOp>(std::move(done), [](engine::DeleteSomeOp& op) { return std::move(op.result()); },
                               key, std::move(ids), impl_->replicated);
}

void AsyncSessions::StartSessionsForKey(std::string key, Done<Result<std::vector<Session>>> done) {
  if (impl_->stateless) return done(impl_->stateless->SessionsForKey(key));
  impl_->Launch<engine::ListOp>(std::move(done), [](engine::ListOp& op) { return std::move(op.result()); },
                         key);
}

void AsyncSessions::StartRotate(std::string cookie_header, Done<Result<Issued>> done) {
  if (impl_->stateless) return done(impl_->stateless->Rotate(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(std::move(done), [](Op& op) { return std::move(op.rotated()); },
             Op::Kind::kRotate, cookie_header, impl_->options.clock(), impl_->replicated);
}

void AsyncSessions::StartReauthenticated(std::string cookie_header, Done<Result<Issued>> done) {
  if (impl_->stateless) return done(impl_->stateless->Reauthenticated(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(std::move(done), [](Op& op) { return std::move(op.rotated()); },
                    Op::Kind::kReauthenticate, cookie_header, impl_->options.clock(), impl_->replicated);
}

void AsyncSessions::StartUpdateMeta(std::string cookie_header, std::string meta, Done<Result<Session>> done) {
  if (impl_->stateless) return done(impl_->stateless->UpdateMeta(cookie_header, meta));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(std::move(done), [](Op& op) { return std::move(op.updated()); },
                    Op::Kind::kUpdateMeta, cookie_header, impl_->options.clock(), impl_->replicated, meta);
}

void AsyncSessions::StartUpdateMetaById(std::string key, SessionId id, std::string meta,
                                        Done<Result<Session>> done) {
  if (impl_->stateless) return done(impl_->stateless->UpdateMeta(key, id, meta));
  impl_->Launch<engine::UpdateMetaOp>(std::move(done),
                                      [](engine::UpdateMetaOp& op) { return std::move(op.result()); }, key, id,
                                      meta);
}

void AsyncSessions::StartDeviceBinding(bool refresh, std::string cookie_header, std::string session_id,
                                       std::string proof, Done<Result<DeviceBindingResponse>> done) {
  if (impl_->stateless) return done(Errc::kUnsupported);
  using Op = engine::DeviceBindingOp;
  impl_->Launch<Op>(std::move(done), [](Op& op) { return std::move(op.result()); },
                    refresh ? Op::Kind::kRefresh : Op::Kind::kRegister, cookie_header, session_id, proof,
                    impl_->options.clock());
}

}  // namespace jeff
