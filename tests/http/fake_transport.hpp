#pragma once

#include "http/transport.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <stdexcept>
#include <vector>

namespace ib::http::testing {

/// A scripted transport: answers each send() with the next scripted Result and records
/// the requests. `yields` lets other coroutines run in the middle of a send (so tests can
/// make callers overlap) without any timer.
class FakeTransport final : public Transport {
public:
  void push(Result r) { script_.push_back(std::move(r)); }
  void push_status(int status, std::string body = {}, Headers headers = {}) {
    push(Response{status, std::move(headers), std::move(body)});
  }
  void push_failure(TransportError code, std::string message = "scripted") {
    push(Failure{code, std::move(message), true});
  }

  boost::asio::awaitable<Result> send(Request request) override {
    requests.push_back(request);
    for (int i = 0; i < yields; ++i) {
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    }
    if (script_.empty()) throw std::logic_error("FakeTransport: no scripted answer left");
    Result r = std::move(script_.front());
    script_.pop_front();
    co_return r;
  }

  std::vector<Request> requests;
  int yields = 0;

private:
  std::deque<Result> script_;
};

}  // namespace ib::http::testing
