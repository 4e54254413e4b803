// Integration: the metrics endpoint over a real loopback socket.
#include "metrics/metrics_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

struct Reply {
  int status;
  std::string body;
  std::string content_type;
};

Reply get(std::uint16_t port, const std::string& target, http::verb verb = http::verb::get) {
  asio::io_context ctx;
  beast::tcp_stream stream(ctx);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);
  http::read(stream, buf, parser);
  auto res = parser.release();
  return {static_cast<int>(res.result_int()), res.body(), std::string(res[http::field::content_type])};
}

struct Fixture {
  asio::io_context ctx;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::atomic<bool> healthy{true};
  std::atomic<bool> ready{false};
  ib::metrics::MetricsServer server{ctx.get_executor(),
                                    {"127.0.0.1", 0},
                                    registry,
                                    [this] { return healthy.load(); },
                                    [this] { return ready.load(); }};
  std::thread thread;

  Fixture() {
    server.start();
    thread = std::thread([this] { ctx.run(); });
  }
  ~Fixture() {
    server.stop();
    ctx.stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("the metrics endpoint serves the registry in Prometheus text format",
          "[metrics][integration]") {
  Fixture f;
  auto& family = prometheus::BuildCounter()
                     .Name("ib_test_invoices_total")
                     .Help("Invoices by outcome")
                     .Register(*f.registry);
  family.Add({{"outcome", "imported"}}).Increment(3);
  REQUIRE(f.server.port() != 0);
  CHECK(f.server.url() == "http://127.0.0.1:" + std::to_string(f.server.port()));

  const auto r = get(f.server.port(), "/metrics");
  CHECK(r.status == 200);
  CHECK(r.content_type.find("text/plain; version=0.0.4") == 0);
  CHECK(r.body.find("# TYPE ib_test_invoices_total counter") != std::string::npos);
  CHECK(r.body.find("ib_test_invoices_total{outcome=\"imported\"} 3") != std::string::npos);
}

TEST_CASE("health and readiness follow their checks", "[metrics][integration]") {
  Fixture f;
  CHECK(get(f.server.port(), "/healthz").status == 200);
  CHECK(get(f.server.port(), "/readyz").status == 503);
  f.ready = true;
  CHECK(get(f.server.port(), "/readyz").status == 200);
  CHECK(get(f.server.port(), "/readyz").body == "ready\n");
  f.healthy = false;
  CHECK(get(f.server.port(), "/healthz").status == 503);
}

TEST_CASE("unknown paths and methods get clear errors", "[metrics][integration]") {
  Fixture f;
  CHECK(get(f.server.port(), "/nope").status == 404);
  CHECK(get(f.server.port(), "/metrics", http::verb::post).status == 405);
  CHECK(get(f.server.port(), "/healthz", http::verb::head).status == 200);
  CHECK(get(f.server.port(), "/metrics?x=1").status == 200);
}

TEST_CASE("binding a port in use fails with an exception at startup", "[metrics][integration]") {
  Fixture f;
  asio::io_context other;
  CHECK_THROWS_AS(ib::metrics::MetricsServer(other.get_executor(), {"127.0.0.1", f.server.port()},
                                             f.registry, {}, {}),
                  boost::system::system_error);
}
