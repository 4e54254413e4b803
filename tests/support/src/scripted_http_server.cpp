#include "testing/scripted_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <mutex>
#include <thread>

namespace ib::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

RawReply http_reply(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body) {
  RawReply r;
  r.bytes = "HTTP/1.1 " + std::to_string(status) + " Scripted\r\n";
  for (const auto& [name, value] : headers) r.bytes += name + ": " + value + "\r\n";
  r.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  return r;
}

struct ScriptedHttpServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context ctx;
  tcp::acceptor acceptor{ctx};
  std::vector<RawReply> script;
  mutable std::mutex mutex;
  std::vector<RecordedRequest> seen;
  int connections = 0;
  std::uint16_t port = 0;  ///< set before the thread starts
  std::thread thread;

  RawReply next(RecordedRequest request) {
    std::lock_guard lock(mutex);
    seen.push_back(std::move(request));
    if (seen.size() <= script.size()) return script[seen.size() - 1];
    return http_reply(500, {{"Content-Type", "text/plain"}}, "script exhausted");
  }

  asio::awaitable<void> serve(tcp::socket socket, int id) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64u << 20);
      auto [ec, n] = co_await bhttp::async_read(socket, buffer, parser, use_tuple);
      if (ec) break;
      auto msg = parser.release();
      RecordedRequest r;
      r.method = std::string(msg.method_string());
      r.target = std::string(msg.target());
      for (const auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      r.body = std::move(msg.body());
      r.connection = id;
      const RawReply reply = next(std::move(r));
      bool write_failed = false;
      if (reply.drip_interval.count() == 0) {
        auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(reply.bytes), use_tuple);
        write_failed = static_cast<bool>(wec);
      } else {
        asio::steady_timer timer(ctx);
        const std::size_t step = std::max<std::size_t>(1, reply.drip_bytes);
        for (std::size_t at = 0; at < reply.bytes.size() && !write_failed; at += step) {
          const auto len = std::min(step, reply.bytes.size() - at);
          auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(reply.bytes.data() + at, len), use_tuple);
          write_failed = static_cast<bool>(wec);
          timer.expires_after(reply.drip_interval);
          co_await timer.async_wait(use_tuple);
        }
      }
      if (write_failed || !reply.keep_alive) break;
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      int id = 0;
      {
        std::lock_guard lock(mutex);
        id = ++connections;
      }
      asio::co_spawn(ctx, serve(std::move(socket), id), asio::detached);
    }
  }
};

ScriptedHttpServer::ScriptedHttpServer(std::vector<RawReply> script) : impl_(std::make_shared<Impl>()) {
  impl_->script = std::move(script);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ctx, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_] { impl->ctx.run(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  impl_->ctx.stop();
  impl_->thread.join();
}

std::uint16_t ScriptedHttpServer::port() const { return impl_->port; }

std::string ScriptedHttpServer::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::vector<RecordedRequest> ScriptedHttpServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen;
}

int ScriptedHttpServer::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections;
}

}  // namespace ib::testing
