#pragma once
// Internal: the stateless strategy (DESIGN "Stateless strategy (JWE)"): the
// session is a compact JWE in the cookie, as Auth.js v5 writes it.

#include <jeff/engine/strategy.hpp>

#include <memory>

namespace jeff::engine {

// Precondition: options validated and defaulted by Sessions. Throws
// std::invalid_argument when options.stateless gives no usable key (no
// secret and no raw key, a secret under 32 bytes, a raw key of a wrong size)
// or a bad stateless setting.
std::unique_ptr<Strategy> MakeStatelessStrategy(Options options);

}  // namespace jeff::engine
