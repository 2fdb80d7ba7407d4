#include <jeff/engine/stateful.hpp>

#include <jeff/engine/device_binding.hpp>
#include <jeff/engine/observer.hpp>
#include <jeff/engine/stateful_ops.hpp>

#include <thread>

namespace jeff::engine {
namespace {

// The synchronous driver: performs each Step of `op` on `store`, blocking
// the calling thread (and sleeping through back-offs), until it is done,
// timing the store calls and counting the result on `observer`.
template <typename Op>
void Drive(Op& op, Store& store, const Clock& clock, Observer& observer) {
  Step step = op.Start();
  while (!step.done()) {
    switch (step.kind) {
      case Step::Kind::kFetch: {
        const auto start = observer.StartCall(StoreOp::kFetch);
        auto version = store.FetchInto(step.key, op.buffer());
        observer.EndCall(StoreOp::kFetch, start, version.error(), step.key);
        step = op.OnFetched(std::move(version), clock());
        break;
      }
      case Step::Kind::kSwap: {
        const auto start = observer.StartCall(StoreOp::kCas);
        auto swapped = store.CompareAndSwap(step.key, step.expected, step.value, step.ttl);
        observer.EndSwap(start, swapped, step.key);
        step = op.OnSwapped(std::move(swapped));
        break;
      }
      case Step::Kind::kErase: {
        const auto start = observer.StartCall(StoreOp::kErase);
        auto erased = store.Erase(step.key);
        observer.EndCall(StoreOp::kErase, start, erased.error(), step.key);
        step = op.OnErased(std::move(erased));
        break;
      }
      case Step::Kind::kWait:
        std::this_thread::sleep_for(step.wait);
        step = op.OnWaited();
        break;
      case Step::Kind::kDone:
        break;
    }
  }
  observer.Finished(op);
}

class StatefulStrategy final : public Strategy {
 public:
  explicit StatefulStrategy(Options options)
      : options_(std::move(options)), replicated_(options_.store->WaitsForReplicas()), observer_(options_) {}

  const Options& options() const noexcept override { return options_; }

  MetricsSnapshot metrics() const override { return observer_.Snapshot(); }

  Result<Issued> Set(std::string_view key, std::string_view meta,
                     std::optional<std::chrono::seconds> max_age) override {
    SetOp op(options_, key, meta, max_age, options_.clock());
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  CheckResult Check(std::string_view cookie_header) override {
    // Reused per thread: the hot path builds the store key and reads the
    // record without allocating. A buffer grown by an unusually large record
    // is given back instead of being kept by the thread.
    // One thread_local object, in the initial-exec model: reached from the
    // thread pointer, where a shared library's default model calls
    // __tls_get_addr (its 64 bytes come from the static TLS block, or from
    // the surplus glibc keeps for libraries that are dlopen'ed, as the
    // Observer's thread state).
    struct Buffers {
      std::string store_key;
      std::string record;
    };
    thread_local Buffers buffers __attribute__((tls_model("initial-exec")));
    struct Trim {
      std::string& record;
      ~Trim() {
        if (record.capacity() > kKeptRecordBuffer) std::string().swap(record);
      }
    } trim{buffers.record};
    CheckResult result;
    CheckOp op(options_, cookie_header, buffers.record, buffers.store_key, result);
    Drive(op, *options_.store, options_.clock, observer_);
    return result;
  }

  CheckResult CheckBearer(std::string_view authorization_header) override {
    CheckResult none;
    const std::optional<std::string> header = BearerAsCookie(options_, authorization_header, none);
    return header ? Check(*header) : none;
  }

  Result<std::vector<std::string>> Clear(std::string_view cookie_header) override {
    CookieMutationOp op(options_, CookieMutationOp::Kind::kClear, cookie_header, options_.clock(), replicated_);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.cleared());
  }

  Result<std::size_t> DeleteAll(std::string_view key) override {
    DeleteAllOp op(options_, key, replicated_);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  Result<std::size_t> DeleteSome(std::string_view key, std::span<const SessionId> ids) override {
    DeleteSomeOp op(options_, key, std::vector<SessionId>(ids.begin(), ids.end()), replicated_);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  Result<MoveOutcome> MoveRecord(std::string_view store_key) override {
    MoveOp op(options_, store_key);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  Result<std::vector<Session>> SessionsForKey(std::string_view key) override {
    ListOp op(options_, key);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  Result<Issued> Rotate(std::string_view cookie_header) override {
    CookieMutationOp op(options_, CookieMutationOp::Kind::kRotate, cookie_header, options_.clock(), replicated_);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.rotated());
  }

  Result<Issued> Reauthenticated(std::string_view cookie_header) override {
    CookieMutationOp op(options_, CookieMutationOp::Kind::kReauthenticate, cookie_header, options_.clock(),
                        replicated_);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.rotated());
  }

  Result<Session> UpdateMeta(std::string_view cookie_header, std::string_view meta) override {
    CookieMutationOp op(options_, CookieMutationOp::Kind::kUpdateMeta, cookie_header, options_.clock(), replicated_,
                        meta);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.updated());
  }

  Result<Session> UpdateMeta(std::string_view key, const SessionId& id, std::string_view meta) override {
    UpdateMetaOp op(options_, key, id, meta);
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  Result<DeviceBindingResponse> RegisterDevice(std::string_view cookie_header, std::string_view proof) override {
    DeviceBindingOp op(options_, DeviceBindingOp::Kind::kRegister, cookie_header, {}, proof, options_.clock());
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

  Result<DeviceBindingResponse> RefreshDevice(std::string_view cookie_header, std::string_view session_id,
                                              std::string_view proof) override {
    DeviceBindingOp op(options_, DeviceBindingOp::Kind::kRefresh, cookie_header, session_id, proof,
                       options_.clock());
    Drive(op, *options_.store, options_.clock, observer_);
    return std::move(op.result());
  }

 private:
  // Per-thread record buffers larger than this are released after use.
  static constexpr std::size_t kKeptRecordBuffer = 64 * 1024;

  Options options_;
  const bool replicated_;  // Store::WaitsForReplicas: revokes always write
  Observer observer_;
};

}  // namespace

std::unique_ptr<Strategy> MakeStatefulStrategy(Options options) {
  return std::make_unique<StatefulStrategy>(std::move(options));
}

}  // namespace jeff::engine
