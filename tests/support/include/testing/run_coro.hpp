#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace ib::testing {

/// Runs `make(ctx)` (a function returning asio::awaitable<T>) to completion on a fresh
/// io_context on the calling thread and returns its result; rethrows its exception.
/// Throws if the coroutine has not finished after `limit` (a hung test fails, it never
/// blocks the suite).
template <typename Make>
auto run_coro(Make make, std::chrono::steady_clock::duration limit = std::chrono::seconds(60)) {
  boost::asio::io_context ctx;
  using Awaitable = decltype(make(ctx));
  using T = typename Awaitable::value_type;
  std::exception_ptr error;
  bool done = false;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(ctx, make(ctx), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    ctx.run_for(limit);
    if (error) std::rethrow_exception(error);
    if (!done) throw std::runtime_error("run_coro: coroutine did not finish in time");
  } else {
    std::optional<T> result;
    boost::asio::co_spawn(ctx, make(ctx), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) result.emplace(std::move(value));
      done = true;
    });
    ctx.run_for(limit);
    if (error) std::rethrow_exception(error);
    if (!done) throw std::runtime_error("run_coro: coroutine did not finish in time");
    return std::move(*result);
  }
}

}  // namespace ib::testing
