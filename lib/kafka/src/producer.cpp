#include "kafka/producer.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <utility>

namespace ib::kafka {

namespace asio = boost::asio;

asio::awaitable<DeliveryReport> Producer::produce(OutgoingMessage message) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(DeliveryReport)>(
      [this](auto handler, OutgoingMessage msg) {
        // The callback runs on the delivery-report thread: hop back to the handler's
        // executor. std::function needs a copyable target, hence the shared_ptr.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        produce(std::move(msg), [h](const DeliveryReport& report) {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, report]() mutable { std::move (*h)(std::move(report)); });
        });
      },
      asio::use_awaitable, std::move(message));
}

}  // namespace ib::kafka
