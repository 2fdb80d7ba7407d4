#include <jeff/async_sessions.hpp>

#include <jeff/engine/device_binding.hpp>
#include <jeff/engine/observer.hpp>
#include <jeff/engine/options.hpp>
#include <jeff/engine/stateful_ops.hpp>
#include <jeff/engine/stateless.hpp>

#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <stdexcept>

namespace jeff {

struct AsyncSessions::Impl {
  explicit Impl(Options validated) : options(std::move(validated)), observer(options) {}
  Options options;
  engine::Observer observer;                         // the stateful strategy's counters
  std::shared_ptr<AsyncStore> store;                 // stateful strategy
  std::unique_ptr<engine::Strategy> stateless;       // or the stateless one (no I/O)

  // Starts an operation `Op(options, args...)` on the store; `finish(Op&)`
  // gets it once it is done.
  template <typename Op, typename Finish, typename... Args>
  void Launch(const boost::asio::any_io_executor& executor, Finish finish, Args&&... args);
};

namespace {

using engine::Step;

// The asynchronous driver: performs each Step of an operation on an
// AsyncStore (and back-offs on an Asio timer), resuming the operation from
// the store's completions, then hands its result to `finish`. The running
// operation owns itself through the handlers it has given out: a store that
// drops its handlers (destroyed with calls in flight) frees it too.
template <typename Op, typename Finish>
class Running : public std::enable_shared_from_this<Running<Op, Finish>> {
 public:
  template <typename... Args>
  Running(const Options& options, engine::Observer& observer, AsyncStore& store,
          boost::asio::any_io_executor executor, Finish finish, Args&&... args)
      : options_(options), observer_(observer), store_(store), executor_(std::move(executor)),
        finish_(std::move(finish)), op_(options, std::forward<Args>(args)...) {}

  void Start() { Continue(op_.Start()); }

 private:
  void Continue(Step step) {
    if (step.done()) {
      observer_.Finished(op_);
      finish_(op_);
      return;
    }
    auto self = this->shared_from_this();
    switch (step.kind) {
      case Step::Kind::kFetch:
        Begin(StoreOp::kFetch, step.key);
        store_.AsyncFetch(step.key, [self](Result<std::optional<Versioned>> fetched) {
          self->End(StoreOp::kFetch, fetched.error());
          self->Fetched(std::move(fetched));
        });
        return;
      case Step::Kind::kSwap:
        Begin(StoreOp::kCas, step.key);
        store_.AsyncCompareAndSwap(step.key, step.expected, step.value, step.ttl,
                                   [self](Result<bool> swapped) {
                                     self->observer_.EndSwap(self->call_start_, swapped, self->call_key_);
                                     self->Continue(self->op_.OnSwapped(std::move(swapped)));
                                   });
        return;
      case Step::Kind::kErase:
        Begin(StoreOp::kErase, step.key);
        store_.AsyncErase(step.key, [self](Result<void> erased) {
          self->End(StoreOp::kErase, erased.error());
          self->Continue(self->op_.OnErased(std::move(erased)));
        });
        return;
      case Step::Kind::kWait:
        if (!timer_) timer_.emplace(executor_);
        timer_->expires_after(step.wait);
        timer_->async_wait([self](const boost::system::error_code&) { self->Continue(self->op_.OnWaited()); });
        return;
      case Step::Kind::kDone:
        return;
    }
  }

  // A store call of `op` on `key` starts; the key is kept for an error
  // event only when the application asked for keys in events.
  void Begin(StoreOp op, std::string_view key) {
    call_start_ = observer_.StartCall(op);
    if (options_.events_include_key && options_.on_event) call_key_.assign(key);
  }
  void End(StoreOp op, std::error_code error) { observer_.EndCall(op, call_start_, error, call_key_); }

  void Fetched(Result<std::optional<Versioned>> fetched) {
    if (!fetched) return Continue(op_.OnFetched(fetched.error(), options_.clock()));
    std::optional<Version> version;
    if (fetched->has_value()) {
      op_.buffer() = std::move((*fetched)->value);
      version.emplace((*fetched)->version);
    }
    Continue(op_.OnFetched(version, options_.clock()));
  }

  const Options& options_;
  engine::Observer& observer_;
  engine::Observer::CallStart call_start_{};
  std::string call_key_;
  AsyncStore& store_;
  boost::asio::any_io_executor executor_;
  Finish finish_;
  Op op_;
  std::optional<boost::asio::steady_timer> timer_;
};

// CheckOp keeps views: the header and buffers live beside it.
struct CheckState {
  std::string header;
  std::string record;
  std::string store_key;
};

}  // namespace

template <typename Op, typename Finish, typename... Args>
void AsyncSessions::Impl::Launch(const boost::asio::any_io_executor& executor, Finish finish, Args&&... args) {
  std::make_shared<Running<Op, Finish>>(options, observer, *store, executor, std::move(finish),
                                        std::forward<Args>(args)...)
      ->Start();
}

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
}

AsyncSessions::~AsyncSessions() = default;

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
        : CheckState{std::move(header), {}, {}},
          engine::CheckOp(options, this->header, this->record, this->store_key) {}
  };
  impl_->Launch<Op>(executor_,
             [done = std::move(done)](Op& op) { done(std::move(op.result())); },
             std::move(cookie_header));
}

void AsyncSessions::StartSet(std::string key, std::string meta, SetOptions set_options,
                             Done<Result<Issued>> done) {
  const std::optional<std::chrono::seconds> max_age = set_options.max_age;
  if (max_age && (max_age->count() < 0 || *max_age > kMaxCookieLifetime)) return done(Errc::kInvalidArgument);
  if (impl_->stateless) return done(impl_->stateless->Set(key, meta, max_age));
  impl_->Launch<engine::SetOp>(executor_,
                        [done = std::move(done)](engine::SetOp& op) { done(std::move(op.result())); },
                        key, meta, max_age, impl_->options.clock());
}

void AsyncSessions::StartClear(std::string cookie_header, Done<Result<std::vector<std::string>>> done) {
  if (impl_->stateless) return done(impl_->stateless->Clear(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(executor_,
             [done = std::move(done)](Op& op) { done(std::move(op.cleared())); },
             Op::Kind::kClear, cookie_header, impl_->options.clock());
}

void AsyncSessions::StartDeleteAll(std::string key, Done<Result<std::size_t>> done) {
  if (impl_->stateless) return done(impl_->stateless->DeleteAll(key));
  impl_->Launch<engine::DeleteAllOp>(executor_,
                              [done = std::move(done)](engine::DeleteAllOp& op) { done(std::move(op.result())); },
                              key);
}

void AsyncSessions::StartDeleteSome(std::string key, std::vector<SessionId> ids, Done<Result<std::size_t>> done) {
  if (impl_->stateless) return done(impl_->stateless->DeleteSome(key, ids));
  impl_->Launch<engine::DeleteSomeOp>(executor_,
                               [done = std::move(done)](engine::DeleteSomeOp& op) { done(std::move(op.result())); },
                               key, std::move(ids));
}

void AsyncSessions::StartSessionsForKey(std::string key, Done<Result<std::vector<Session>>> done) {
  if (impl_->stateless) return done(impl_->stateless->SessionsForKey(key));
  impl_->Launch<engine::ListOp>(executor_,
                         [done = std::move(done)](engine::ListOp& op) { done(std::move(op.result())); },
                         key);
}

void AsyncSessions::StartRotate(std::string cookie_header, Done<Result<Issued>> done) {
  if (impl_->stateless) return done(impl_->stateless->Rotate(cookie_header));
  using Op = engine::CookieMutationOp;
  impl_->Launch<Op>(executor_,
             [done = std::move(done)](Op& op) { done(std::move(op.rotated())); },
             Op::Kind::kRotate, cookie_header, impl_->options.clock());
}

void AsyncSessions::StartDeviceBinding(bool refresh, std::string cookie_header, std::string session_id,
                                       std::string proof, Done<Result<DeviceBindingResponse>> done) {
  if (impl_->stateless) return done(Errc::kUnsupported);
  using Op = engine::DeviceBindingOp;
  impl_->Launch<Op>(executor_, [done = std::move(done)](Op& op) { done(std::move(op.result())); },
                    refresh ? Op::Kind::kRefresh : Op::Kind::kRegister, cookie_header, session_id, proof,
                    impl_->options.clock());
}

}  // namespace jeff
