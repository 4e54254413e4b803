#include "sim/simulator.hpp"

#include "router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <functional>
#include <thread>
#include <unordered_map>

namespace ib::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

void log_exception(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("d365-sim: {} failed: {}", what, ex.what());
  } catch (...) {
    spdlog::error("d365-sim: {} failed", what);
  }
}

// Closes with SO_LINGER 0, so the peer sees a TCP RST ("connection reset").
void reset_socket(tcp::socket& s) {
  beast::error_code ec;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

}  // namespace

struct Simulator::Runner {
  std::shared_ptr<asio::io_context> ctx;
  std::thread thread;
};

struct Simulator::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor executor;
  Router router;
  tcp::acceptor acceptor;
  std::unique_ptr<ssl::context> tls;
  std::unordered_map<std::uint64_t, std::function<void()>> closers;
  std::uint64_t next_conn = 0;
  bool stopped = false;
  std::uint16_t bound_port = 0;
  std::string scheme;

  Impl(asio::any_io_executor ex, SimOptions opt)
      : executor(ex), router(std::move(opt)), acceptor(ex) {
    const auto& o = router.options();
    if (!o.tls.cert_file.empty()) {
      tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      tls->use_certificate_chain_file(o.tls.cert_file);
      tls->use_private_key_file(o.tls.key_file, ssl::context::pem);
    }
    scheme = tls ? "https" : "http";
    const tcp::endpoint ep(asio::ip::make_address(o.listen_address), o.port);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    bound_port = acceptor.local_endpoint().port();
    router.set_port(bound_port);
  }

  asio::awaitable<void> sleep_ms(double ms) {
    if (ms <= 0) co_return;
    asio::steady_timer t(executor, std::chrono::microseconds(static_cast<long long>(ms * 1000)));
    co_await t.async_wait(use_tuple);
  }

  template <typename Stream>
  asio::awaitable<void> too_large(Stream& stream) {
    http::response<http::string_body> res{http::status::payload_too_large, 11};
    const auto err = error_response(router.options().error_style, 413, "",
                                    "The request body is larger than max_body_bytes.");
    res.set(http::field::content_type, "application/json");
    res.body() = err.body;
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, use_tuple);
  }

  template <typename Stream>
  asio::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    const auto max_body = router.options().max_body_bytes;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(max_body);
      parser.header_limit(64 * 1024);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(300));
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      if (hec == http::error::body_limit) {
        co_await too_large(stream);
        co_return;
      }
      if (hec) co_return;
      // curl and .NET send `Expect: 100-continue` for large bodies and wait for this.
      if (auto it = parser.get().find(http::field::expect);
          it != parser.get().end() && beast::iequals(it->value(), "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        auto [cec, cn] = co_await http::async_write(stream, cont, use_tuple);
        if (cec) co_return;
      }
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (ec == http::error::body_limit) {
        co_await too_large(stream);
        co_return;
      }
      if (ec) co_return;
      auto& req = parser.get();
      RequestView view;
      view.method = req.method_string();
      view.target = req.target();
      view.body = req.body();
      view.scheme = scheme;
      for (const auto& f : req) view.headers.emplace_back(f.name_string(), f.value());

      Response resp;
      if (!router.handle_control(view, resp)) {
        auto adm = router.admit(view);
        if (adm.kind == Admission::Kind::Reset) {
          spdlog::debug("{} {} -> reset (fault)", view.method, view.target);
          reset_socket(beast::get_lowest_layer(stream).socket());
          co_return;
        }
        if (adm.kind == Admission::Kind::Respond) {
          resp = std::move(adm.response);
        } else {
          co_await sleep_ms(adm.latency_ms);
          auto out = router.process(view);
          co_await sleep_ms(out.delay_ms);
          router.release();
          if (out.drop) {
            spdlog::debug("{} {} -> applied, connection dropped (fault)", view.method, view.target);
            reset_socket(beast::get_lowest_layer(stream).socket());
            co_return;
          }
          resp = std::move(out.response);
        }
        router.count_response(resp.status);
      }
      spdlog::debug("{} {} -> {} ({} bytes)", view.method, view.target, resp.status, resp.body.size());
      http::response<http::string_body> res;
      res.version(req.version());
      res.result(static_cast<unsigned>(resp.status));
      res.set(http::field::server, "d365-sim");
      for (auto& [k, v] : resp.headers) res.insert(k, v);
      res.body() = std::move(resp.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(300));
      auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  asio::awaitable<void> connection(tcp::socket socket) {
    auto self = shared_from_this();
    const auto id = ++next_conn;
    socket.set_option(tcp::no_delay(true));
    beast::tcp_stream tcp_stream(std::move(socket));
    if (!tls) {
      closers[id] = [&tcp_stream] {
        beast::error_code ec;
        tcp_stream.socket().close(ec);
      };
      co_await serve(tcp_stream);
      closers.erase(id);
      beast::error_code ec;
      tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls);
    closers[id] = [&stream] {
      beast::error_code ec;
      beast::get_lowest_layer(stream).socket().close(ec);
    };
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (!hec) {
      co_await serve(stream);
      if (beast::get_lowest_layer(stream).socket().is_open()) {
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
        co_await stream.async_shutdown(use_tuple);
      }
    } else {
      spdlog::debug("d365-sim: TLS handshake failed: {}", hec.message());
    }
    closers.erase(id);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) break;
        spdlog::warn("d365-sim: accept failed: {}", ec.message());
        continue;
      }
      asio::co_spawn(executor, connection(std::move(socket)),
                     [](std::exception_ptr e) { log_exception(e, "connection"); });
    }
  }

  void close_all() {
    if (stopped) return;
    stopped = true;
    beast::error_code ec;
    acceptor.close(ec);
    auto copy = closers;
    for (auto& [id, close] : copy) close();
  }
};

Simulator::Simulator(SimOptions options) : runner_(std::make_unique<Runner>()) {
  runner_->ctx = std::make_shared<asio::io_context>(1);
  impl_ = std::make_shared<Impl>(runner_->ctx->get_executor(), std::move(options));
  asio::co_spawn(impl_->executor, impl_->accept_loop(),
                 [](std::exception_ptr e) { log_exception(e, "listener"); });
  runner_->thread = std::thread([ctx = runner_->ctx] {
    auto guard = asio::make_work_guard(*ctx);
    ctx->run();
  });
}

Simulator::Simulator(asio::any_io_executor executor, SimOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {
  asio::co_spawn(impl_->executor, impl_->accept_loop(),
                 [](std::exception_ptr e) { log_exception(e, "listener"); });
}

Simulator::~Simulator() {
  stop();
  if (runner_) {
    runner_->ctx->stop();
    if (runner_->thread.joinable()) runner_->thread.join();
    // Suspended coroutines hold impl_; destroying the context destroys them.
    impl_.reset();
    runner_->ctx.reset();
  }
}

void Simulator::stop() {
  asio::dispatch(impl_->executor, [impl = impl_] { impl->close_all(); });
}

std::uint16_t Simulator::port() const { return impl_->bound_port; }
std::string Simulator::base_url() const { return impl_->router.base_url(); }
std::string Simulator::service_url() const {
  return base_url() + impl_->router.options().service_root;
}
SimStats Simulator::stats() const { return impl_->router.stats(); }
std::string Simulator::stats_json() const { return impl_->router.stats_json(); }
std::vector<SimRecord> Simulator::records() const { return impl_->router.records(); }
std::string Simulator::records_json() const { return impl_->router.records_json(); }
void Simulator::load_records_json(const std::string& json) { impl_->router.load_records_json(json); }

void Simulator::save_records(const std::filesystem::path& file) const {
  const auto tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << records_json();
    if (!out) throw std::runtime_error("d365-sim: cannot write " + tmp);
  }
  std::filesystem::rename(tmp, file);
}

FaultOptions Simulator::faults() const { return impl_->router.faults(); }
void Simulator::set_faults(const FaultOptions& faults) { impl_->router.set_faults(faults); }
LimitOptions Simulator::limits() const { return impl_->router.limits(); }
void Simulator::set_limits(const LimitOptions& limits) { impl_->router.set_limits(limits); }
void Simulator::reset() { impl_->router.reset(); }
void Simulator::expire_tokens() { impl_->router.expire_tokens(); }

}  // namespace ib::sim
