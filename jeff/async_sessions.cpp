#include <jeff/async_sessions.hpp>

#include <jeff/engine/device_binding.hpp>
#include <jeff/engine/observer.hpp>
#include <jeff/engine/options.hpp>
#include <jeff/engine/stateful_ops.hpp>
#include <jeff/engine/stateless.hpp>

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace jeff {

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
  explicit Core(Options validated) : options(std::move(validated)), observer(options) {}
  Options options;
  engine::Observer observer;            // the stateful strategy's counters
  std::shared_ptr<AsyncStore> store;    // stateful strategy
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
// the store's completions, then hands `get(op)` to `done`. The running
// operation owns itself through the handlers it has given out: a store that
// drops its handlers (destroyed with calls in flight) frees it too. While it
// runs it is on its manager's list; when the manager goes it is aborted
// (`core_` becomes null) and the store's late answer only frees it.
template <typename Op, typename T, typename Get>
class Running final : public RunningCall, public std::enable_shared_from_this<Running<Op, T, Get>> {
 public:
  template <typename... Args>
  Running(Core& core, boost::asio::any_io_executor executor, async_detail::Completion<T> done, Get get,
          Args&&... args)
      : core_(&core), executor_(std::move(executor)), done_(std::move(done)), get_(std::move(get)),
        op_(core.options, std::forward<Args>(args)...) {}
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    // Its handler dropped by the store without a call (the manager lives).
    if (core_ != nullptr) core_->running.Remove(*this);
  }

  void Start() {
    core_->running.Add(*this);
    Continue(op_.Start());
  }

  void Abort() override {
    core_ = nullptr;
    if (timer_) timer_->cancel();
    done_(Aborted<T>());
  }

 private:
  void Continue(Step step) {
    if (step.done()) {
      core_->observer.Finished(op_);
      core_->running.Remove(*this);
      core_ = nullptr;
      done_(get_(op_));
      return;
    }
    auto self = this->shared_from_this();
    AsyncStore& store = *core_->store;
    switch (step.kind) {
      case Step::Kind::kFetch:
        Begin(StoreOp::kFetch, step.key);
        store.AsyncFetch(step.key, [self](Result<std::optional<Versioned>> fetched) {
          if (self->core_ == nullptr) return;
          self->End(StoreOp::kFetch, fetched.error());
          self->Fetched(std::move(fetched));
        });
        return;
      case Step::Kind::kSwap:
        Begin(StoreOp::kCas, step.key);
        store.AsyncCompareAndSwap(step.key, step.expected, step.value, step.ttl,
                                  [self](Result<bool> swapped) {
                                    if (self->core_ == nullptr) return;
                                    self->core_->observer.EndSwap(self->call_start_, swapped, self->call_key_);
                                    self->Continue(self->op_.OnSwapped(std::move(swapped)));
                                  });
        return;
      case Step::Kind::kErase:
        Begin(StoreOp::kErase, step.key);
        store.AsyncErase(step.key, [self](Result<void> erased) {
          if (self->core_ == nullptr) return;
          self->End(StoreOp::kErase, erased.error());
          self->Continue(self->op_.OnErased(std::move(erased)));
        });
        return;
      case Step::Kind::kWait:
        if (!timer_) timer_.emplace(executor_);
        timer_->expires_after(step.wait);
        timer_->async_wait([self](const boost::system::error_code&) {
          if (self->core_ == nullptr) return;
          self->Continue(self->op_.OnWaited());
        });
        return;
      case Step::Kind::kDone:
        return;
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

  Core* core_;  // null once finished or aborted
  engine::Observer::CallStart call_start_{};
  std::string call_key_;
  boost::asio::any_io_executor executor_;
  async_detail::Completion<T> done_;
  Get get_;
  Op op_;  // refers to core_->options, which it no longer reads once aborted
  std::optional<boost::asio::steady_timer> timer_;
};

// CheckOp keeps views: the header, buffers and result live beside it.
struct CheckState {
  std::string header;
  std::string record;
  std::string store_key;
  CheckResult outcome;
};

}  // namespace

struct AsyncSessions::Impl : Core {
  explicit Impl(Options validated) : Core(std::move(validated)) {}
  std::unique_ptr<engine::Strategy> stateless;  // or the stateless strategy (no I/O)

  // Starts an operation `Op(options, args...)` on the store; `done` gets
  // `get(op)` once it is done, or operation_canceled if the manager goes
  // first.
  template <typename Op, typename T, typename Get, typename... Args>
  void Launch(const boost::asio::any_io_executor& executor, async_detail::Completion<T> done, Get get,
              Args&&... args) {
    std::make_shared<Running<Op, T, Get>>(*this, executor, std::move(done), std::move(get),
                                          std::forward<Args>(args)...)
        ->Start();
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
  impl_ = std::make_unique<Impl>(std::move(options));
  if (stateless) impl_->stateless = std::move(stateless_strategy);
  impl_->store = std::move(store);
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
        : CheckState{std::move(header), {}, {}, {}},
          engine::CheckOp(options, this->header, this->record, this->store_key, this->outcome) {}
  };
  impl_->Launch<Op>(executor_,
             std::move(done), [](Op& op) { return std::move(op.result()); },
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
  impl_->Launch<engine::SetOp>(executor_,
                        std::move(done), [](engine::SetOp& op) { return std::move(op.result()); },
                        key, meta, max_age, impl_->options.clock());
}

void AsyncSessions::StartClear(std::string cookie_header, Done<Result<std::vector<std::string>>> done) {
  if (impl_->stateless) return done(impl_->stateless->Clear(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(executor_,
             std::move(done), [](Op& op) { return std::move(op.cleared()); },
             Op::Kind::kClear, cookie_header, impl_->options.clock(), impl_->replicated);
}

void AsyncSessions::StartDeleteAll(std::string key, Done<Result<std::size_t>> done) {
  if (impl_->stateless) return done(impl_->stateless->DeleteAll(key));
  impl_->Launch<engine::DeleteAllOp>(executor_,
                              std::move(done), [](engine::DeleteAllOp& op) { return std::move(op.result()); },
                              key, impl_->replicated);
}

void AsyncSessions::StartDeleteSome(std::string key, std::vector<SessionId> ids, Done<Result<std::size_t>> done) {
  if (impl_->stateless) return done(impl_->stateless->DeleteSome(key, ids));
  impl_->Launch<engine::DeleteSomeOp>(executor_,
                               std::move(done), [](engine::DeleteSomeOp& op) { return std::move(op.result()); },
                               key, std::move(ids), impl_->replicated);
}

void AsyncSessions::StartSessionsForKey(std::string key, Done<Result<std::vector<Session>>> done) {
  if (impl_->stateless) return done(impl_->stateless->SessionsForKey(key));
  impl_->Launch<engine::ListOp>(executor_,
                         std::move(done), [](engine::ListOp& op) { return std::move(op.result()); },
                         key);
}

void AsyncSessions::StartRotate(std::string cookie_header, Done<Result<Issued>> done) {
  if (impl_->stateless) return done(impl_->stateless->Rotate(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(executor_,
             std::move(done), [](Op& op) { return std::move(op.rotated()); },
             Op::Kind::kRotate, cookie_header, impl_->options.clock(), impl_->replicated);
}

void AsyncSessions::StartReauthenticated(std::string cookie_header, Done<Result<Issued>> done) {
  if (impl_->stateless) return done(impl_->stateless->Reauthenticated(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(executor_, std::move(done), [](Op& op) { return std::move(op.rotated()); },
                    Op::Kind::kReauthenticate, cookie_header, impl_->options.clock(), impl_->replicated);
}

void AsyncSessions::StartUpdateMeta(std::string cookie_header, std::string meta, Done<Result<Session>> done) {
  if (impl_->stateless) return done(impl_->stateless->UpdateMeta(cookie_header, meta));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(executor_, std::move(done), [](Op& op) { return std::move(op.updated()); },
                    Op::Kind::kUpdateMeta, cookie_header, impl_->options.clock(), impl_->replicated, meta);
}

void AsyncSessions::StartUpdateMetaById(std::string key, SessionId id, std::string meta,
                                        Done<Result<Session>> done) {
  if (impl_->stateless) return done(impl_->stateless->UpdateMeta(key, id, meta));
  impl_->Launch<engine::UpdateMetaOp>(executor_, std::move(done),
                                      [](engine::UpdateMetaOp& op) { return std::move(op.result()); }, key, id,
                                      meta);
}

void AsyncSessions::StartDeviceBinding(bool refresh, std::string cookie_header, std::string session_id,
                                       std::string proof, Done<Result<DeviceBindingResponse>> done) {
  if (impl_->stateless) return done(Errc::kUnsupported);
  using Op = engine::DeviceBindingOp;
  impl_->Launch<Op>(executor_, std::move(done), [](Op& op) { return std::move(op.result()); },
                    refresh ? Op::Kind::kRefresh : Op::Kind::kRegister, cookie_header, session_id, proof,
                    impl_->options.clock());
}

}  // namespace jeff
