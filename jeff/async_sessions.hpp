#pragma once
/// \file
/// jeff::AsyncSessions: the Sessions API for event-loop servers (Boost.Asio).
/// Every call starts the work and returns; the outcome reaches an Asio
/// completion token: a callback, `boost::asio::use_awaitable` in a C++20
/// coroutine, `boost::asio::use_future`, ... Store calls never block the
/// loop, and compare-and-swap back-off waits on an Asio timer.
///
///     jeff::AsyncSessions sessions(options, jeff::OpenAsyncStore(url, ioc.get_executor()),
///                                  ioc.get_executor());
///     jeff::CheckResult checked = co_await sessions.Check(cookie, boost::asio::use_awaitable);

#include <jeff/async_store.hpp>
#include <jeff/export.hpp>
#include <jeff/sessions.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace jeff {

namespace async_detail {

/// A heap block of at least `size` bytes, aligned for any type up to
/// __STDCPP_DEFAULT_NEW_ALIGNMENT__ (inside AsyncSessions, not for
/// applications): taken from this thread's recycled blocks of its size
/// class when there is one, else from operator new. Throws std::bad_alloc.
JEFF_API void* AllocateBlock(std::size_t size);
/// Gives back a block from AllocateBlock(`size`), on any thread: kept for
/// reuse on this thread (a few dozen blocks per size class at most), else
/// freed.
JEFF_API void FreeBlock(void* block, std::size_t size) noexcept;
/// A string holding `text`, in a buffer this thread recycled when it has
/// one (RecycleString), so that a copy of a short text usually allocates
/// nothing.
JEFF_API std::string RecycledString(std::string_view text = {});
/// Keeps the buffer of `s` for a later RecycledString on this thread (when
/// it is small and few are kept), leaving `s` empty.
JEFF_API void RecycleString(std::string& s) noexcept;

/// A standard allocator over AllocateBlock/FreeBlock: the default
/// allocator of a call's completion (a handler's associated allocator, when
/// it has one, is used instead, as Asio's own operations do).
template <typename T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() noexcept = default;
  template <typename U>
  RecyclingAllocator(const RecyclingAllocator<U>&) noexcept {}  // NOLINT: converting, as allocators are
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "over-aligned for AllocateBlock");
    return static_cast<T*>(AllocateBlock(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { FreeBlock(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const RecyclingAllocator<U>&) const noexcept {
    return true;
  }
};

/// A call's completion inside AsyncSessions (not for applications): called
/// at most once with the outcome; move-only, so that it can own a move-only
/// Asio handler in one block with what it needs beside it (a std::function
/// needs a copyable target). The block comes from `alloc` (by default this
/// thread's recycled blocks) and is freed before the callable runs, as Asio
/// frees an operation's memory before its handler runs, so that a call
/// started from the callable can reuse it. Dropped uncalled, it destroys
/// what it owns.
template <typename T>
class Completion {
 public:
  Completion() = default;
  /// Owns `f`, a callable taking T, in a block from `alloc`.
  template <typename F, typename Alloc = RecyclingAllocator<void>>
  explicit Completion(F f, const Alloc& alloc = Alloc()) {
    using Block = Model<F, Alloc>;
    typename Block::Allocator a(alloc);
    Block* block = std::allocator_traits<typename Block::Allocator>::allocate(a, 1);
    try {
      ::new (static_cast<void*>(block)) Block(std::move(f), alloc);
    } catch (...) {
      std::allocator_traits<typename Block::Allocator>::deallocate(a, block, 1);
      throw;
    }
    call_.reset(block);
  }
  /// Calls the callable with `value`. Precondition: made from one, and not
  /// moved from or called before.
  void operator()(T&& value) { call_.release()->Call(std::move(value)); }

 private:
  struct Concept {
    // Moves the callable out, frees the block, then calls the callable.
    virtual void Call(T&& value) = 0;
    virtual void Destroy() noexcept = 0;

   protected:
    ~Concept() = default;
  };
  struct Destroyer {
    void operator()(Concept* c) const noexcept { c->Destroy(); }
  };
  template <typename F, typename Alloc>
  struct Model final : Concept {
    using Allocator = typename std::allocator_traits<Alloc>::template rebind_alloc<Model>;
    Model(F fn, const Alloc& a) : f(std::move(fn)), alloc(a) {}
    void Call(T&& value) override {
      F callable = [this] {
        struct Free {
          Model* block;
          ~Free() { block->Destroy(); }
        } free{this};
        return std::move(f);
      }();
      callable(std::move(value));
    }
    void Destroy() noexcept override {
      Allocator a(alloc);
      this->~Model();
      std::allocator_traits<Allocator>::deallocate(a, this, 1);
    }
    F f;
    [[no_unique_address]] Alloc alloc;
  };
  std::unique_ptr<Concept, Destroyer> call_;
};

}  // namespace async_detail

/// The asynchronous session manager: the same operations, rules and results
/// as Sessions (Check, Set, Clear, Delete, SessionsForKey, Rotate,
/// UpdateMeta, ...), over an
/// AsyncStore. Calls are made from the thread that runs `executor` (the
/// store's loop); each completion is posted to the token's associated
/// executor (by default `executor`), never run inside the call that started
/// it, and that executor has outstanding work until the completion ran.
/// Arguments are copied before a call returns.
///
/// Destroying the manager with calls in flight is safe, as with Asio's I/O
/// objects: each such call completes (posted, as always) with
/// `std::errc::operation_canceled` (ECANCELED, which
/// `boost::asio::error::operation_aborted` also is): CheckResult with
/// CheckStatus::kStoreError and that error, a Result with that error. The
/// store's late answers are dropped, and no further store call is made;
/// as after a timeout, a write already sent may still have been applied.
/// Destroy it on its loop's thread, or while that loop is not running.
class JEFF_API AsyncSessions {
 public:
  /// The executor type of the loop the manager's timers run on.
  using executor_type = boost::asio::any_io_executor;

  /// Validates `options` like Sessions (std::invalid_argument when
  /// unusable). `store` holds the sessions (Options::store must be null);
  /// a null `store` selects the stateless strategy, which needs no I/O (its
  /// optional denylist is a synchronous Store called on the loop: give it
  /// a MemoryStore). `executor` runs the back-off timers and, by default,
  /// the completions.
  AsyncSessions(Options options, std::shared_ptr<AsyncStore> store, executor_type executor);
  /// Releases the manager and its share of the store; calls still in
  /// flight complete with std::errc::operation_canceled (see above).
  ~AsyncSessions();
  AsyncSessions(const AsyncSessions&) = delete;
  AsyncSessions& operator=(const AsyncSessions&) = delete;

  /// Sessions::Check: completes with `void(CheckResult)`.
  template <typename CompletionToken>
  auto Check(std::string_view cookie_header, CompletionToken&& token) {
    return Initiate<CheckResult>(std::forward<CompletionToken>(token),
                                 [this, header = async_detail::RecycledString(cookie_header)](auto done) mutable {
                                   StartCheck(std::move(header), std::move(done));
                                 });
  }

  /// Sessions::Set: completes with `void(Result<Issued>)`.
  template <typename CompletionToken>
  auto Set(std::string_view key, std::string_view meta, const SetOptions& set_options,
           CompletionToken&& token) {
    return Initiate<Result<Issued>>(
        std::forward<CompletionToken>(token),
        [this, key = std::string(key), meta = std::string(meta), set_options](auto done) mutable {
          StartSet(std::move(key), std::move(meta), set_options, std::move(done));
        });
  }

  /// Set with the default SetOptions: completes with `void(Result<Issued>)`.
  template <typename CompletionToken>
  auto Set(std::string_view key, std::string_view meta, CompletionToken&& token) {
    return Set(key, meta, SetOptions{}, std::forward<CompletionToken>(token));
  }

  /// Sessions::Clear: completes with `void(Result<std::vector<std::string>>)`.
  template <typename CompletionToken>
  auto Clear(std::string_view cookie_header, CompletionToken&& token) {
    return Initiate<Result<std::vector<std::string>>>(
        std::forward<CompletionToken>(token),
        [this, header = std::string(cookie_header)](auto done) mutable {
          StartClear(std::move(header), std::move(done));
        });
  }

  /// Sessions::Delete(key): completes with `void(Result<std::size_t>)`.
  template <typename CompletionToken>
  auto Delete(std::string_view key, CompletionToken&& token) {
    return Initiate<Result<std::size_t>>(std::forward<CompletionToken>(token),
                                         [this, key = std::string(key)](auto done) mutable {
                                           StartDeleteAll(std::move(key), std::move(done));
                                         });
  }

  /// Sessions::Delete(key, ids): completes with `void(Result<std::size_t>)`.
  template <typename CompletionToken>
  auto Delete(std::string_view key, std::span<const SessionId> ids, CompletionToken&& token) {
    return Initiate<Result<std::size_t>>(
        std::forward<CompletionToken>(token),
        [this, key = std::string(key), ids = std::vector<SessionId>(ids.begin(), ids.end())](
            auto done) mutable { StartDeleteSome(std::move(key), std::move(ids), std::move(done)); });
  }

  /// Sessions::SessionsForKey: completes with
  /// `void(Result<std::vector<Session>>)`.
  template <typename CompletionToken>
  auto SessionsForKey(std::string_view key, CompletionToken&& token) {
    return Initiate<Result<std::vector<Session>>>(std::forward<CompletionToken>(token),
                                                  [this, key = std::string(key)](auto done) mutable {
                                                    StartSessionsForKey(std::move(key), std::move(done));
                                                  });
  }

  /// Sessions::Rotate: completes with `void(Result<Issued>)`.
  template <typename CompletionToken>
  auto Rotate(std::string_view cookie_header, CompletionToken&& token) {
    return Initiate<Result<Issued>>(std::forward<CompletionToken>(token),
                                    [this, header = std::string(cookie_header)](auto done) mutable {
                                      StartRotate(std::move(header), std::move(done));
                                    });
  }

  /// Sessions::Reauthenticated: completes with `void(Result<Issued>)`.
  template <typename CompletionToken>
  auto Reauthenticated(std::string_view cookie_header, CompletionToken&& token) {
    return Initiate<Result<Issued>>(std::forward<CompletionToken>(token),
                                    [this, header = std::string(cookie_header)](auto done) mutable {
                                      StartReauthenticated(std::move(header), std::move(done));
                                    });
  }

  /// Sessions::UpdateMeta(cookie_header, meta): completes with
  /// `void(Result<Session>)`.
  template <typename CompletionToken>
  auto UpdateMeta(std::string_view cookie_header, std::string_view meta, CompletionToken&& token) {
    return Initiate<Result<Session>>(
        std::forward<CompletionToken>(token),
        [this, header = std::string(cookie_header), meta = std::string(meta)](auto done) mutable {
          StartUpdateMeta(std::move(header), std::move(meta), std::move(done));
        });
  }

  /// Sessions::UpdateMeta(key, id, meta): completes with
  /// `void(Result<Session>)`.
  template <typename CompletionToken>
  auto UpdateMeta(std::string_view key, const SessionId& id, std::string_view meta, CompletionToken&& token) {
    return Initiate<Result<Session>>(
        std::forward<CompletionToken>(token),
        [this, key = std::string(key), id, meta = std::string(meta)](auto done) mutable {
          StartUpdateMetaById(std::move(key), id, std::move(meta), std::move(done));
        });
  }

  /// Sessions::RegisterDevice (DBSC registration endpoint): completes with
  /// `void(Result<DeviceBindingResponse>)`.
  template <typename CompletionToken>
  auto RegisterDevice(std::string_view cookie_header, std::string_view secure_session_response,
                      CompletionToken&& token) {
    return Initiate<Result<DeviceBindingResponse>>(
        std::forward<CompletionToken>(token),
        [this, header = std::string(cookie_header), proof = std::string(secure_session_response)](auto done) mutable {
          StartDeviceBinding(false, std::move(header), {}, std::move(proof), std::move(done));
        });
  }

  /// Sessions::RefreshDevice (DBSC refresh endpoint): completes with
  /// `void(Result<DeviceBindingResponse>)`.
  template <typename CompletionToken>
  auto RefreshDevice(std::string_view cookie_header, std::string_view sec_secure_session_id,
                     std::string_view secure_session_response, CompletionToken&& token) {
    return Initiate<Result<DeviceBindingResponse>>(
        std::forward<CompletionToken>(token),
        [this, header = std::string(cookie_header), id = std::string(sec_secure_session_id),
         proof = std::string(secure_session_response)](auto done) mutable {
          StartDeviceBinding(true, std::move(header), std::move(id), std::move(proof), std::move(done));
        });
  }

  /// Sessions::CheckBearer in stateless mode (pure computation, so it
  /// answers at once); kAbsent for stateful sessions, which need the store:
  /// use the asynchronous overload.
  CheckResult CheckBearer(std::string_view authorization_header);

  /// Sessions::CheckBearer, both strategies: completes with
  /// `void(CheckResult)`.
  template <typename CompletionToken>
  auto CheckBearer(std::string_view authorization_header, CompletionToken&& token) {
    return Initiate<CheckResult>(std::forward<CompletionToken>(token),
                                 [this, header = std::string(authorization_header)](auto done) mutable {
                                   StartCheckBearer(std::move(header), std::move(done));
                                 });
  }

  /// The options in force (after defaults were applied).
  const Options& options() const noexcept;

  /// A snapshot of the counters (all zero with `enabled` false unless
  /// Options::metrics is on). Thread-safe: locks the manager's mutex and
  /// sums the counter slot of every thread that has run an operation (66
  /// relaxed loads per slot): meant for a scrape, not for every request.
  /// Operations count without that mutex (a thread takes it only on its
  /// first operation and when it exits).
  MetricsSnapshot metrics() const;

  /// The executor given at construction.
  executor_type get_executor() const noexcept { return executor_; }

 private:
  template <typename T>
  using Done = async_detail::Completion<T>;

  // Adapts an Asio completion token: the handler (often move-only) is kept
  // in a Completion, so that the non-template core can hold it, and is
  // posted to its associated executor. As with Asio's own
  // operations, that executor has outstanding work until the handler ran
  // (a loop run only for the handler does not stop while the call is
  // pending); the hold ends on the handler's thread, after the handler. On
  // the manager's own executor no hold is taken: the store's pending call
  // keeps that loop busy (the AsyncStore contract), and the completion is
  // posted from it.
  template <typename T, typename CompletionToken, typename Start>
  auto Initiate(CompletionToken&& token, Start start) {
    return boost::asio::async_initiate<CompletionToken, void(T)>(
        [this](auto handler, Start start) {
          using Handler = decltype(handler);
          using Executor = boost::asio::associated_executor_t<Handler, executor_type>;
          using Work = std::optional<boost::asio::executor_work_guard<Executor>>;
          Executor executor = boost::asio::get_associated_executor(handler, executor_);
          Work work;
          if (!IsOwnExecutor(executor)) work.emplace(executor);
          // The handler, its executor and the hold: one block with the
          // completion, from the handler's allocator (by default a block
          // this thread recycled); the handler and the hold move into the
          // posted call.
          const auto alloc =
              boost::asio::get_associated_allocator(handler, async_detail::RecyclingAllocator<void>());
          start(Done<T>(
              [handler = std::move(handler), executor = std::move(executor),
               work = std::move(work)](T&& value) mutable {
                Post(executor, [handler = std::move(handler), work = std::move(work),
                                value = std::move(value)]() mutable {
                  handler(std::move(value));
                  work.reset();
                });
              },
              alloc));
        },
        token, std::move(start));
  }

  // Posts `f` to `executor`; to an io_context's executor held in an
  // any_io_executor, through its own type (Asio's type-erased post makes
  // three more executors and wraps the function once more). Boost 1.74's
  // target<E>() does not check the type: target_type() does.
  template <typename Executor, typename F>
  static void Post(const Executor& executor, F&& f) {
#if !defined(BOOST_ASIO_NO_TYPEID)
    if constexpr (std::is_same_v<Executor, executor_type>) {
      using IoExecutor = boost::asio::io_context::executor_type;
      if (executor.target_type() == typeid(IoExecutor)) {
        boost::asio::post(*executor.template target<IoExecutor>(), std::forward<F>(f));
        return;
      }
    }
#endif
    boost::asio::post(executor, std::forward<F>(f));
  }

  template <typename Executor>
  bool IsOwnExecutor(const Executor& executor) const noexcept {
    if constexpr (std::is_same_v<Executor, executor_type>) {
      return executor == executor_;
    } else {
      return false;
    }
  }

  void StartCheck(std::string cookie_header, Done<CheckResult> done);
  void StartCheckBearer(std::string authorization_header, Done<CheckResult> done);
  void StartSet(std::string key, std::string meta, SetOptions set_options, Done<Result<Issued>> done);
  void StartClear(std::string cookie_header, Done<Result<std::vector<std::string>>> done);
  void StartDeleteAll(std::string key, Done<Result<std::size_t>> done);
  void StartDeleteSome(std::string key, std::vector<SessionId> ids, Done<Result<std::size_t>> done);
  void StartSessionsForKey(std::string key, Done<Result<std::vector<Session>>> done);
  void StartRotate(std::string cookie_header, Done<Result<Issued>> done);
  void StartReauthenticated(std::string cookie_header, Done<Result<Issued>> done);
  void StartUpdateMeta(std::string cookie_header, std::string meta, Done<Result<Session>> done);
  void StartUpdateMetaById(std::string key, SessionId id, std::string meta, Done<Result<Session>> done);
  void StartDeviceBinding(bool refresh, std::string cookie_header, std::string session_id, std::string proof,
                          Done<Result<DeviceBindingResponse>> done);

  struct JEFF_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
  executor_type executor_;
};

}  // namespace jeff
