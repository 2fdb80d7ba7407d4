// The async store contract on a real PostgreSQL server, through
// PooledAsyncStore: built directly, and opened from a URL by OpenAsyncStore.
#include <doctest/doctest.h>
#include <jeff/stores/open_async_store.hpp>
#include <jeff/stores/pooled_async_store.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>

#include "postgres/postgres_support.hpp"
#include "support/async_store_contract.hpp"

using namespace std::chrono_literals;

namespace jeff::test {
namespace {

TEST_CASE("PostgreSQL through PooledAsyncStore passes the async store contract") {
  const std::uint16_t port = SharedPostgres().port();
  RunAsyncStoreContract(ServerAsyncHarness([port](boost::asio::any_io_executor loop) {
    return std::make_shared<PooledAsyncStore>(std::make_shared<PostgresStore>(TestOptions(port)),
                                              loop, PooledAsyncStoreOptions{.threads = 8});
  }));
}

TEST_CASE("PostgreSQL opened by OpenAsyncStore passes the async store contract") {
  const std::string url = PostgresUrl(SharedPostgres().port()) +
                          "?async_threads=4&create_table=1&table=jeff_async_sessions&async_queue=64"
                          // As TestOptions: a loaded machine under ThreadSanitizer can take
                          // more than the default second for one call.
                          "&connect_timeout=5&timeout=5s&pool_timeout=5s";
  RunAsyncStoreContract(ServerAsyncHarness([url](boost::asio::any_io_executor loop) {
    auto store = OpenAsyncStore(url, loop);
    auto* pooled = dynamic_cast<PooledAsyncStore*>(store.get());
    REQUIRE(pooled != nullptr);
    CHECK(pooled->options().threads == 4);
    CHECK(pooled->options().max_queued == 64);
    CHECK(dynamic_cast<PostgresStore*>(pooled->store().get()) != nullptr);
    return store;
  }));
}

TEST_CASE("through PooledAsyncStore a refusal keeps its reason, noted on the loop before the handler") {
  const std::string url = "postgresql://jeff@127.0.0.1:" + std::to_string(SharedPostgres().port()) +
                          "/no_such_db?async_threads=1";
  boost::asio::io_context loop;
  auto store = OpenAsyncStore(url, loop.get_executor());
  std::error_code error;
  std::string why;
  store->AsyncFetch("k", [&](Result<std::optional<Versioned>> fetched) {
    error = fetched.error();
    why = ErrorDetail(error);  // on the loop's thread, as a handler reads it
  });
  loop.run();
  CHECK(error == Errc::kStoreRefused);
  CHECK(why.find("database \"no_such_db\" does not exist") != std::string::npos);
}

}  // namespace
}  // namespace jeff::test
