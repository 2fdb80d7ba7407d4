#pragma once
// Internal: the stateful strategy (sessions in a Store, DESIGN "Stateful"):
// the operations of engine/stateful_ops.hpp driven synchronously on a Store.

#include <jeff/engine/strategy.hpp>

#include <memory>

namespace jeff::engine {

// Precondition: options validated and defaulted by Sessions; options.store set.
std::unique_ptr<Strategy> MakeStatefulStrategy(Options options);

}  // namespace jeff::engine
