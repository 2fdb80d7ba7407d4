#pragma once
// Internal to jeff-redis (never installed): the shared bounded pool
// (stores/detail/connection_pool.hpp) of connections to one Redis endpoint.

#include "connection.hpp"
#include "stores/detail/connection_pool.hpp"

#include <utility>

namespace jeff::redis_detail {

/// Sizing and reconnect policy of a ConnectionPool, and how it connects.
struct PoolOptions : store_detail::PoolOptions {
  ConnectOptions connect;
};

/// A connection on loan from a ConnectionPool.
using Lease = store_detail::Lease<Connection>;

/// Connections to one endpoint. Thread-safe; must outlive its leases.
class ConnectionPool : public store_detail::ConnectionPool<Connection> {
 public:
  ConnectionPool(Endpoint endpoint, PoolOptions options)
      : store_detail::ConnectionPool<Connection>(
            [endpoint, connect = options.connect] { return Connection::Open(endpoint, connect); },
            options),
        endpoint_(std::move(endpoint)) {}

  const Endpoint& endpoint() const noexcept { return endpoint_; }

 private:
  const Endpoint endpoint_;
};

}  // namespace jeff::redis_detail
