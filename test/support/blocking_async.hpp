#pragma once
// Test support: an AsyncSessions called with Sessions' synchronous
// signatures (each call runs the io_context until its completion), so that
// one flow (e.g. RunDbscFlow) exercises both drivers.

#include <jeff/async_sessions.hpp>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <span>
#include <string_view>

namespace jeff::test {

class BlockingAsync {
 public:
  BlockingAsync(AsyncSessions& sessions, boost::asio::io_context& ioc) : sessions_(sessions), ioc_(ioc) {}

  Result<Issued> Set(std::string_view key, std::string_view meta) {
    return Run<Result<Issued>>([&](auto done) { sessions_.Set(key, meta, done); });
  }
  CheckResult Check(std::string_view cookie_header) {
    return Run<CheckResult>([&](auto done) { sessions_.Check(cookie_header, done); });
  }
  CheckResult CheckBearer(std::string_view authorization_header) {
    return Run<CheckResult>([&](auto done) { sessions_.CheckBearer(authorization_header, done); });
  }
  Result<std::vector<std::string>> Clear(std::string_view cookie_header) {
    return Run<Result<std::vector<std::string>>>([&](auto done) { sessions_.Clear(cookie_header, done); });
  }
  Result<std::size_t> Delete(std::string_view key) {
    return Run<Result<std::size_t>>([&](auto done) { sessions_.Delete(key, done); });
  }
  Result<std::size_t> Delete(std::string_view key, std::span<const SessionId> ids) {
    return Run<Result<std::size_t>>([&](auto done) { sessions_.Delete(key, ids, done); });
  }
  Result<std::vector<Session>> SessionsForKey(std::string_view key) {
    return Run<Result<std::vector<Session>>>([&](auto done) { sessions_.SessionsForKey(key, done); });
  }
  Result<Issued> Set(std::string_view key, std::string_view meta, const SetOptions& set_options) {
    return Run<Result<Issued>>([&](auto done) { sessions_.Set(key, meta, set_options, done); });
  }
  Result<Issued> Rotate(std::string_view cookie_header) {
    return Run<Result<Issued>>([&](auto done) { sessions_.Rotate(cookie_header, done); });
  }
  Result<Issued> Reauthenticated(std::string_view cookie_header) {
    return Run<Result<Issued>>([&](auto done) { sessions_.Reauthenticated(cookie_header, done); });
  }
  Result<Session> UpdateMeta(std::string_view cookie_header, std::string_view meta) {
    return Run<Result<Session>>([&](auto done) { sessions_.UpdateMeta(cookie_header, meta, done); });
  }
  Result<Session> UpdateMeta(std::string_view key, const SessionId& id, std::string_view meta) {
    return Run<Result<Session>>([&](auto done) { sessions_.UpdateMeta(key, id, meta, done); });
  }
  const Options& options() const noexcept { return sessions_.options(); }
  Result<DeviceBindingResponse> RegisterDevice(std::string_view cookie_header, std::string_view proof) {
    return Run<Result<DeviceBindingResponse>>(
        [&](auto done) { sessions_.RegisterDevice(cookie_header, proof, done); });
  }
  Result<DeviceBindingResponse> RefreshDevice(std::string_view cookie_header, std::string_view id,
                                              std::string_view proof) {
    return Run<Result<DeviceBindingResponse>>(
        [&](auto done) { sessions_.RefreshDevice(cookie_header, id, proof, done); });
  }

 private:
  template <typename T, typename Start>
  T Run(Start start) {
    std::optional<T> out;
    start([&out](T value) { out.emplace(std::move(value)); });
    // Until this completion: a store's connections may keep the loop busy forever.
    ioc_.restart();
    while (!out && ioc_.run_one() != 0) {
    }
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  AsyncSessions& sessions_;
  boost::asio::io_context& ioc_;
};

}  // namespace jeff::test
