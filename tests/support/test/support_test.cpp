#include "testing/free_port.hpp"
#include "testing/kafka_env.hpp"
#include "testing/run_coro.hpp"
#include "testing/temp_dir.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <fstream>

namespace asio = boost::asio;

TEST_CASE("TempDir creates a fresh directory and removes it with its contents", "[support][unit]") {
  std::filesystem::path where;
  {
    ib::testing::TempDir a, b;
    where = a.path();
    REQUIRE(std::filesystem::is_directory(a.path()));
    CHECK(a.path() != b.path());
    std::ofstream(a.path() / "file") << "x";
  }
  CHECK_FALSE(std::filesystem::exists(where));
}

TEST_CASE("run_coro returns the coroutine's value and rethrows its exception", "[support][unit]") {
  const int v = ib::testing::run_coro([](asio::io_context& ctx) -> asio::awaitable<int> {
    asio::steady_timer t(ctx, std::chrono::milliseconds(1));
    co_await t.async_wait(asio::use_awaitable);
    co_return 42;
  });
  CHECK(v == 42);
  CHECK_THROWS_WITH(ib::testing::run_coro([](asio::io_context&) -> asio::awaitable<void> {
                      throw std::runtime_error("boom");
                      co_return;
                    }),
                    "boom");
}

TEST_CASE("run_coro fails a coroutine that never finishes", "[support][unit]") {
  CHECK_THROWS_WITH(
      ib::testing::run_coro(
          [](asio::io_context& ctx) -> asio::awaitable<void> {
            asio::steady_timer t(ctx, std::chrono::hours(1));
            co_await t.async_wait(asio::use_awaitable);
          },
          std::chrono::milliseconds(50)),
      Catch::Contains("did not finish"));
}

TEST_CASE("free_port and unique_topic hand out usable distinct values", "[support][unit]") {
  CHECK(ib::testing::free_port() > 0);
  CHECK(ib::testing::unique_topic("t") != ib::testing::unique_topic("t"));
}
