#pragma once
// Test support: an AsyncSessions with its own io_context and the blocking
// facade (BlockingAsync), so a test drives the asynchronous driver with the
// synchronous flows in one line.

#include <jeff/async_sessions.hpp>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <utility>

#include "blocking_async.hpp"
#include "memory_fixture.hpp"

namespace jeff::test {

class AsyncHarness {
 public:
  /// AsyncSessions on `store` with `options` (whose synchronous store is
  /// ignored: AsyncSessions takes the asynchronous one).
  AsyncHarness(Options options, std::shared_ptr<AsyncStore> store)
      : sessions_(WithoutSyncStore(std::move(options)), std::move(store), ioc_.get_executor()),
        api_(sessions_, ioc_) {}
  /// On a MemoryFixture's store, options and clock.
  explicit AsyncHarness(const MemoryFixture& f) : AsyncHarness(f.options, f.store) {}

  /// A stateless AsyncSessions (one 32-byte secret, no store).
  static Options StatelessOptions() {
    Options options;
    options.stateless.secrets = {std::string(32, 'k')};
    return options;
  }

  BlockingAsync& api() noexcept { return api_; }
  AsyncSessions& sessions() noexcept { return sessions_; }
  boost::asio::io_context& ioc() noexcept { return ioc_; }

 private:
  static Options WithoutSyncStore(Options options) {
    options.store = nullptr;
    return options;
  }

  boost::asio::io_context ioc_;
  AsyncSessions sessions_;
  BlockingAsync api_;
};

}  // namespace jeff::test
