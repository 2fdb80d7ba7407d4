#pragma once
// Test support: a store that says it waits for replicas
// (Store::WaitsForReplicas) and otherwise is the store it wraps, by default
// a fresh MemoryStore. Sessions on it make every revoke write.

#include <jeff/store.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

namespace jeff::test {

class ReplicatedStore final : public Store {
 public:
  explicit ReplicatedStore(std::shared_ptr<Store> inner = std::make_shared<MemoryStore>())
      : inner_(std::move(inner)) {}
  Result<std::optional<Versioned>> Fetch(std::string_view key) override { return inner_->Fetch(key); }
  Result<bool> CompareAndSwap(std::string_view key, std::optional<Version> expected, std::string_view value,
                              std::chrono::milliseconds ttl) override {
    return inner_->CompareAndSwap(key, expected, value, ttl);
  }
  Result<void> Erase(std::string_view key) override { return inner_->Erase(key); }
  bool WaitsForReplicas() const noexcept override { return true; }

 private:
  std::shared_ptr<Store> inner_;
};

}  // namespace jeff::test
