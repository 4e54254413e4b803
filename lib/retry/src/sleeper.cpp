#include "retry/sleeper.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ib::retry {

namespace asio = boost::asio;

asio::awaitable<void> AsioSleeper::sleep(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;  // a cancelled wait just ends the sleep early
}

asio::awaitable<void> RecordingSleeper::sleep(std::chrono::milliseconds delay) {
  delays_.push_back(delay);
  co_return;
}

}  // namespace ib::retry
