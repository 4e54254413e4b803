// http_bench: throughput of BeastTransport against the local test server (127.0.0.1).
// Not a ctest test. Usage: http_bench [requests=2000]
#include "http/beast_transport.hpp"
#include "test_server.hpp"
#include "testing/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace ib::http;
using ib::http::testing::Reply;
using ib::http::testing::SeenRequest;
using ib::http::testing::TestServer;

namespace {

boost::asio::awaitable<void> worker(std::shared_ptr<BeastTransport> t, int count, int* failures) {
  for (int i = 0; i < count; ++i) {
    Request r;
    r.method = "POST";
    r.target = "$batch";
    r.body = std::string(4096, 'b');
    auto res = co_await t->send(std::move(r));
    if (!res || res->status != 200) ++*failures;
  }
}

void run(const char* name, TestServer& server, const std::string& host, const std::string& ca,
         std::size_t pool, int in_flight, int total) {
  boost::asio::io_context ctx;
  BeastTransportConfig c;
  c.base_url = server.url(host) + "/api/data/v9.2";
  c.max_connections = pool;
  c.tls_ca_file = ca;
  auto t = std::make_shared<BeastTransport>(ctx.get_executor(), c);
  int failures = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < in_flight; ++w) {
    boost::asio::co_spawn(ctx, worker(t, total / in_flight, &failures), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  ctx.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int done = (total / in_flight) * in_flight;
  std::printf("%-44s %6d requests  %8.0f req/s  %7.1f us/req  connections %3llu  failures %d\n", name, done,
              done / secs, secs * 1e6 / done, static_cast<unsigned long long>(t->stats().connections_opened),
              failures);
}

}  // namespace

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 2000;
  auto reply = [](const SeenRequest&) {
    Reply r;
    r.body = std::string(2048, 'r');
    return r;
  };
  {
    TestServer server(reply);
    run("plain, keep-alive, 1 in flight", server, "127.0.0.1", "", 1, 1, total);
    run("plain, keep-alive, 8 in flight, pool 8", server, "127.0.0.1", "", 8, 8, total);
    run("plain, keep-alive, 8 in flight, pool 2", server, "127.0.0.1", "", 2, 8, total);
    server.close_after(1);
    run("plain, new connection per request", server, "127.0.0.1", "", 1, 1, total);
  }
  ib::testing::TempDir dir("ib-http-bench");
  const auto pki = ib::http::testing::make_test_pki(dir.path());
  {
    TestServer server(reply, pki);
    run("TLS, keep-alive, 1 in flight", server, "localhost", pki.ca_cert.string(), 1, 1, total);
    run("TLS, keep-alive, 8 in flight, pool 8", server, "localhost", pki.ca_cert.string(), 8, 8, total);
    server.close_after(1);
    run("TLS, new connection (handshake) per request", server, "localhost", pki.ca_cert.string(), 1, 1,
        total / 4);
  }
  return 0;
}
