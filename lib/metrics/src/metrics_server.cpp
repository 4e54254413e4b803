#include "metrics/metrics_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

namespace ib::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct MetricsServer::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor executor;
  MetricsServerConfig config;
  std::shared_ptr<prometheus::Registry> registry;
  Check healthy;
  Check ready;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<beast::tcp_stream>> sessions;
  std::uint16_t bound_port = 0;
  bool stopped = false;

  Impl(asio::any_io_executor ex, MetricsServerConfig cfg, std::shared_ptr<prometheus::Registry> reg,
       Check h, Check r)
      : executor(ex), config(std::move(cfg)), registry(std::move(reg)), healthy(std::move(h)),
        ready(std::move(r)), acceptor(ex) {
    const tcp::endpoint ep(asio::ip::make_address(config.address), config.port);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    bound_port = acceptor.local_endpoint().port();
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "invoice-bridge");
    const auto target = std::string_view(req.target().data(), req.target().size());
    const auto path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = "method not allowed\n";
    } else if (path == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = prometheus::TextSerializer().Serialize(registry->Collect());
    } else if (path == "/healthz") {
      const bool ok = !healthy || healthy();
      res.result(ok ? http::status::ok : http::status::service_unavailable);
      res.body() = ok ? "ok\n" : "unhealthy\n";
    } else if (path == "/readyz") {
      const bool ok = ready && ready();
      res.result(ok ? http::status::ok : http::status::service_unavailable);
      res.body() = ok ? "ready\n" : "not ready\n";
    } else {
      res.result(http::status::not_found);
      res.body() = "not found; try /metrics, /healthz or /readyz\n";
    }
    if (res.result() != http::status::ok || res.find(http::field::content_type) == res.end()) {
      res.set(http::field::content_type, "text/plain; charset=utf-8");
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  asio::awaitable<void> session(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      stream->expires_after(std::chrono::seconds(30));
      auto [ec, n] = co_await http::async_read(*stream, buffer, parser, use_tuple);
      if (ec) break;
      auto res = answer(parser.get());
      const bool keep = res.keep_alive();
      stream->expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await http::async_write(*stream, res, use_tuple);
      if (wec || !keep) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    sessions.erase(stream);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) break;
        spdlog::warn("metrics endpoint: accept failed: {}", ec.message());
        continue;
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      sessions.insert(stream);
      // A session's failure is its own connection's business: log, never stop the server.
      asio::co_spawn(executor, session(stream), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::warn("metrics endpoint: session failed: {}", ex.what());
        }
      });
    }
  }
};

MetricsServer::MetricsServer(asio::any_io_executor executor, MetricsServerConfig config,
                             std::shared_ptr<prometheus::Registry> registry, Check healthy,
                             Check ready)
    : impl_(std::make_shared<Impl>(executor, std::move(config), std::move(registry),
                                   std::move(healthy), std::move(ready))) {}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  asio::co_spawn(impl_->executor, impl_->accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("metrics endpoint stopped: {}", ex.what());
    }
  });
}

void MetricsServer::stop() {
  asio::dispatch(impl_->executor, [impl = impl_] {
    if (impl->stopped) return;
    impl->stopped = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    for (const auto& s : impl->sessions) s->socket().close(ignored);
  });
}

std::uint16_t MetricsServer::port() const { return impl_->bound_port; }

std::string MetricsServer::url() const {
  return "http://" + impl_->config.address + ":" + std::to_string(port());
}

}  // namespace ib::metrics
