#pragma once
// Internal: the stateful strategy (sessions in a Store, DESIGN "Stateful").

#include <jeff/detail/strategy.hpp>

#include <memory>

namespace jeff::detail {

// Precondition: options validated and defaulted by Sessions; options.store set.
std::unique_ptr<Strategy> MakeStatefulStrategy(Options options);

}  // namespace jeff::detail
