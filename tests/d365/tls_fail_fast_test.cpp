// A TLS certificate that fails verification (D365's or its token endpoint's) is a
// configuration problem: BatchClient answers fatal after one connection attempt and never
// tries again. Real sockets: the simulator serving https with throwaway certificates.
#include "d365/batch_client.hpp"
#include "d365/d365_config.hpp"
#include "d365/d365_transport.hpp"
#include "http/beast_transport.hpp"
#include "sim/simulator.hpp"
#include "testing/fake_d365.hpp"
#include "testing/run_coro.hpp"
#include "testing/scripted_http_server.hpp"
#include "testing/temp_dir.hpp"
#include "testing/tls_pki.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

namespace asio = boost::asio;
using namespace ib;
using ib::core::AnswerClass;
using ib::testing::writes;

namespace {

sim::SimOptions tls_sim(const std::filesystem::path& cert, const std::filesystem::path& key) {
  sim::SimOptions o;
  o.tls = {cert.string(), key.string()};
  return o;
}

struct Run {
  std::vector<d365::Answer> first, second;
  http::PoolStats pool;
  d365::BatchClientStats client;
};

/// Two sends of 3 invoices through one BatchClient over a BeastTransport to `base_url`.
Run run_twice(const std::string& base_url, const std::filesystem::path& ca) {
  return ib::testing::run_coro([&](asio::io_context& ctx) -> asio::awaitable<Run> {
    http::BeastTransportConfig tc;
    tc.base_url = base_url;
    tc.tls_ca_file = ca.string();
    auto transport = std::make_shared<http::BeastTransport>(ctx.get_executor(), tc);
    d365::BatchClientConfig c;
    c.odata.service_url = base_url + "/api/data/v9.2";
    d365::BatchClient client(transport, c);
    Run run;
    run.first = co_await client.send(writes(3));
    run.second = co_await client.send(writes(2));
    run.pool = transport->stats();
    run.client = client.stats();
    co_return run;
  });
}

void check_fatal(const std::vector<d365::Answer>& answers, std::size_t n, const std::string& message) {
  REQUIRE(answers.size() == n);
  for (const auto& a : answers) {
    CHECK(a.outcome == AnswerClass::not_processed);
    CHECK(a.fatal == message);
    CHECK(a.error == message);
    CHECK(a.status == 0);
  }
}

}  // namespace

TEST_CASE("d365_tls: a certificate signed by an untrusted CA fails fast, one connection attempt") {
  ib::testing::TempDir dir("d365-tls");
  const auto pki = ib::testing::make_tls_pki(dir.path());
  sim::Simulator sim(tls_sim(pki.untrusted_cert, pki.untrusted_key));
  const auto host = "localhost:" + std::to_string(sim.port());
  auto run = run_twice("https://" + host, pki.ca);
  const auto message = "TLS certificate verification failed for " + host + ": unable to get local issuer certificate";
  check_fatal(run.first, 3, message);
  check_fatal(run.second, 2, message);  // latched: no second attempt
  CHECK(run.pool.connections_opened == 1);
  CHECK(run.client.batches_sent == 1);
  CHECK(run.client.refused_after_fatal == 1);
  CHECK(sim.stats().requests == 0);
}

TEST_CASE("d365_tls: a trusted certificate for another host name fails fast, naming the host") {
  ib::testing::TempDir dir("d365-tls");
  const auto pki = ib::testing::make_tls_pki(dir.path());
  sim::Simulator sim(tls_sim(pki.other_host_cert, pki.other_host_key));
  SECTION("a DNS name") {
    const auto host = "localhost:" + std::to_string(sim.port());
    auto run = run_twice("https://" + host, pki.ca);
    const auto message = "TLS certificate verification failed for " + host + ": hostname mismatch";
    check_fatal(run.first, 3, message);
    check_fatal(run.second, 2, message);
    CHECK(run.pool.connections_opened == 1);
  }
  SECTION("an IP address") {
    const auto host = "127.0.0.1:" + std::to_string(sim.port());
    auto run = run_twice("https://" + host, pki.ca);
    check_fatal(run.first, 3, "TLS certificate verification failed for " + host + ": IP address mismatch");
    CHECK(run.pool.connections_opened == 1);
  }
  CHECK(sim.stats().requests == 0);
}

TEST_CASE("d365_tls: the right CA and host name: created (the control case)") {
  ib::testing::TempDir dir("d365-tls");
  const auto pki = ib::testing::make_tls_pki(dir.path());
  sim::Simulator sim(tls_sim(pki.good_cert, pki.good_key));
  auto run = run_twice("https://localhost:" + std::to_string(sim.port()), pki.ca);
  for (const auto& a : run.first) {
    INFO(a.error);
    CHECK(a.outcome == AnswerClass::created);
    CHECK(a.fatal.empty());
  }
  CHECK(run.client.batches_sent == 2);
}

TEST_CASE("d365_tls: the OAuth token endpoint's certificate failing verification is fatal too") {
  ib::testing::TempDir dir("d365-tls");
  const auto pki = ib::testing::make_tls_pki(dir.path());
  sim::Simulator token_endpoint(tls_sim(pki.untrusted_cert, pki.untrusted_key));
  ib::testing::ScriptedHttpServer d365_server({});  // must never be reached

  d365::D365Config config;
  config.base_url = d365_server.url();
  config.tls_ca_file = pki.ca.string();
  config.auth.mode = http::AuthMode::client_credentials;
  const auto host = "localhost:" + std::to_string(token_endpoint.port());
  config.auth.token_url = "https://" + host + "/tenant-1/oauth2/v2.0/token";
  config.auth.client_id = "sim-client";
  config.auth.scope = "https://org.crm.dynamics.com/.default";
  config.auth.client_secret_env = "IB_TEST_SECRET";
  auto run = ib::testing::run_coro([&](asio::io_context& ctx) -> asio::awaitable<Run> {
    auto transport = d365::make_d365_transport(ctx.get_executor(), config, {{"IB_TEST_SECRET", "sim-secret"}});
    d365::BatchClient client(transport, config.batch_client_config(100));
    Run r;
    r.first = co_await client.send(writes(3));
    r.second = co_await client.send(writes(1));
    r.client = client.stats();
    co_return r;
  });
  const auto message = "token endpoint: tls_verify_failed: TLS certificate verification failed for " + host +
                       ": unable to get local issuer certificate";
  check_fatal(run.first, 3, message);
  check_fatal(run.second, 1, message);
  CHECK(run.client.refused_after_fatal == 1);
  CHECK(d365_server.connections() == 0);
  CHECK(token_endpoint.stats().requests == 0);
}
