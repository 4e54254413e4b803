// Integration: `import` (run_import over EntityInvoiceCodec + BatchClient + BeastTransport)
// against the in-process D365 simulator over real sockets, with duplicates, conflicts and
// injected 503s: every unique valid invoice is created exactly once.
#include "app/daemon.hpp"
#include "d365/batch_client.hpp"
#include "d365/d365_config.hpp"
#include "d365/d365_transport.hpp"
#include "tools/import_command.hpp"
#include "sim/simulator.hpp"
#include "testing/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <set>
#include <sstream>

namespace asio = boost::asio;
using namespace ib;

namespace {

struct Input {
  std::string text;
  std::size_t unique = 0;
  std::size_t duplicates = 0;
  std::size_t conflicts = 0;
  std::size_t invalid = 0;
};

std::string invoice_line(std::size_t i, const std::string& amount) {
  return R"({"vendor_account":"V-)" + std::to_string(i % 97) + R"(","invoice_number":"INV/)" + std::to_string(i) +
         R"( 'x'","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" + amount +
         // Tax and lines travel with the default mapping (Tax, Lines as JSON text).
         R"(,"tax":"19.10","lines":[{"description":"Widgets","quantity":3,"amount":)" + amount + "}]}";
}

// `n` lines: ~10% exact or reformatted duplicates of earlier lines, ~1% conflicts (same key,
// other amount), a few invalid lines; the rest unique.
Input make_input(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Input in;
  std::size_t next = 0;
  for (std::size_t line = 0; line < n; ++line) {
    const double r = u(rng);
    if (next > 0 && r < 0.10) {
      const auto i = std::uniform_int_distribution<std::size_t>(0, next - 1)(rng);
      // 100.5 and "1.005e2" are the same amount: same fingerprint, a harmless duplicate.
      in.text += invoice_line(i, (line % 2) ? "100.5" : "\"1.005e2\"") + "\n";
      ++in.duplicates;
    } else if (next > 0 && r < 0.11) {
      const auto i = std::uniform_int_distribution<std::size_t>(0, next - 1)(rng);
      in.text += invoice_line(i, "999.99") + "\n";
      ++in.conflicts;
    } else if (r < 0.112) {
      in.text += (line % 2) ? "{not json\n" : R"({"vendor_account":"V","invoice_number":"X"})" "\n";
      ++in.invalid;
    } else {
      in.text += invoice_line(next++, "100.50") + "\n";
      ++in.unique;
    }
  }
  return in;
}

d365::D365Config d365_config(const sim::Simulator& sim, odata::BatchFormat format, bool continue_on_error) {
  d365::D365Config c;
  c.base_url = sim.base_url();
  c.odata.format = format;
  c.odata.continue_on_error = continue_on_error;
  c.request_deadline = std::chrono::seconds(20);
  return c;
}

tools::ImportSettings fast_settings() {
  tools::ImportSettings s;
  s.pipeline.batch.max_items = 100;
  s.pipeline.aimd.max_in_flight = 4;
  s.pipeline.backoff.initial = std::chrono::milliseconds(5);
  s.pipeline.backoff.max_delay = std::chrono::milliseconds(40);
  s.pipeline.backoff.max_attempts = 10;
  s.seed = 7;
  return s;
}

struct Run {
  tools::ImportSummary summary;
  std::vector<tools::ImportReject> rejects;
};

Run run_import(const d365::D365Config& config, const std::string& input, tools::ImportSettings settings = fast_settings(),
               const config::Environment& env = {}) {
  Run out;
  // The io_context outlives the transport (declared first, destroyed last).
  asio::io_context io;
  d365::EntityInvoiceCodec codec(config.invoice, config.key, config.mapping);
  auto transport = d365::make_d365_transport(io.get_executor(), config, env);
  // The sender the config asks for, as the binary makes it: BatchClient, or BulkClient.
  auto sender_ptr = d365::make_sender(transport, config, settings.pipeline.batch.max_items);
  auto& sender = *sender_ptr;
  std::istringstream stream(input);
  auto sink = [&](const tools::ImportReject& r) { out.rejects.push_back(r); };
  std::optional<tools::ImportSummary> summary;
  std::exception_ptr error;
  asio::co_spawn(io, tools::run_import(stream, codec, sender, settings, sink, nullptr),
                 [&](std::exception_ptr e, tools::ImportSummary s) {
                   error = e;
                   if (!e) summary = s;
                 });
  io.run_for(std::chrono::seconds(50));
  if (error) std::rethrow_exception(error);
  REQUIRE(summary);
  out.summary = *summary;
  return out;
}

// What every run must end with: each unique valid invoice created exactly once.
void check_exactly_once(const sim::Simulator& sim, const Input& in, const Run& run) {
  const auto stats = sim.stats();
  INFO(run.summary.to_line());
  CHECK(stats.records == in.unique);
  CHECK(stats.creates == in.unique);
  REQUIRE_FALSE(stats.creates_per_key_histogram.empty());
  CHECK(stats.creates_per_key_histogram.rbegin()->first == 1);
  CHECK(stats.keys_created_more_than_once.empty());
  CHECK(run.summary.read == in.unique + in.duplicates + in.conflicts + in.invalid);
  CHECK(run.summary.imported == in.unique);
  CHECK(run.summary.duplicates == in.duplicates);
  CHECK(run.summary.conflicts == in.conflicts);
  CHECK(run.summary.invalid == in.invalid);
  CHECK(run.summary.failed == 0);
  CHECK(run.rejects.size() == in.conflicts + in.invalid);
  for (const auto& r : run.rejects) CHECK((r.reason == "conflict" || r.reason == "invalid"));
}

}  // namespace

TEST_CASE("import: 10,000 invoices with duplicates, conflicts and 5% injected 503s land exactly once",
          "[app][import][integration]") {
  sim::SimOptions o;
  o.faults.operation_error_probability = 0.05;
  o.faults.error_statuses = {503};
  o.faults.request_error_probability = 0.02;  // a whole batch answered 503 now and then
  o.faults.operation_applied_then_failed_probability = 0.005;  // created, but the part says 500
  sim::Simulator sim(o);
  const auto in = make_input(10'000, 1);
  auto run = run_import(d365_config(sim, odata::BatchFormat::multipart, true), in.text);
  check_exactly_once(sim, in, run);
  CHECK(run.summary.retried > 0);
  CHECK(sim.stats().injected_errors > 0);
  CHECK(sim.stats().applied_then_failed > 0);
  // Batches, not one call per invoice.
  CHECK(run.summary.requests_sent < in.unique / 50);
}

TEST_CASE("import: every batch mode, with and without continue-on-error, imports exactly once",
          "[app][import][integration]") {
  struct Mode {
    odata::BatchFormat format;
    bool continue_on_error;
  };
  for (auto mode : {Mode{odata::BatchFormat::multipart, true}, Mode{odata::BatchFormat::multipart, false},
                    Mode{odata::BatchFormat::json, true}, Mode{odata::BatchFormat::json, false}}) {
    DYNAMIC_SECTION("format " << odata::to_string(mode.format) << " continue_on_error " << mode.continue_on_error) {
      sim::SimOptions o;
      o.faults.operation_error_probability = 0.05;
      o.faults.error_statuses = {503};
      sim::Simulator sim(o);
      const auto in = make_input(2'000, 2);
      auto run = run_import(d365_config(sim, mode.format, mode.continue_on_error), in.text);
      check_exactly_once(sim, in, run);
      if (!mode.continue_on_error) CHECK(run.summary.resent > 0);  // stopped batches: rest sent again
    }
  }
}

TEST_CASE("import: records already in D365 count as duplicates, not failures", "[app][import][integration]") {
  sim::Simulator sim(sim::SimOptions{});
  const auto in = make_input(300, 3);
  auto first = run_import(d365_config(sim, odata::BatchFormat::multipart, true), in.text);
  check_exactly_once(sim, in, first);
  auto second = run_import(d365_config(sim, odata::BatchFormat::multipart, true), in.text);
  CHECK(sim.stats().creates == in.unique);
  CHECK(second.summary.imported == 0);
  CHECK(second.summary.duplicates == in.unique + in.duplicates);
  CHECK(second.summary.failed == 0);
}

TEST_CASE("import: CreateMultiple, with either fallback, creates each invoice once and counts D365's copies as duplicates",
          "[app][import][integration][bulk]") {
  for (auto fallback : {d365::BulkFallback::batch, d365::BulkFallback::bisect}) {
    DYNAMIC_SECTION("fallback " << d365::to_string(fallback)) {
      sim::Simulator sim(sim::SimOptions{});
      auto config = d365_config(sim, odata::BatchFormat::multipart, true);
      config.bulk = d365::BulkMessage::create_multiple;
      config.entity_type = "vendorinvoice";
      config.bulk_fallback = fallback;
      REQUIRE(config.validate().empty());
      const auto in = make_input(600, 4);
      // The first half goes first; the whole file then meets D365 holding that half, so
      // bulk messages are refused and the fallback must find the copies among the new.
      const auto half_end = in.text.find('\n', in.text.size() / 2) + 1;
      const auto half = in.text.substr(0, half_end);
      auto first = run_import(config, half);
      CHECK(first.summary.failed == 0);
      const auto created_first = sim.stats().creates;
      CHECK(first.summary.imported == created_first);
      const auto messages_first = sim.stats().bulk_messages;
      CHECK(messages_first >= 1);
      CHECK(sim.stats().bulk_rolled_back == 0);

      auto second = run_import(config, in.text);
      const auto stats = sim.stats();
      CHECK(stats.records == in.unique);
      CHECK(stats.creates == in.unique);
      CHECK(stats.keys_created_more_than_once.empty());
      CHECK(second.summary.imported == in.unique - created_first);
      CHECK(second.summary.failed == 0);
      CHECK(second.summary.conflicts == in.conflicts);
      CHECK(second.summary.invalid == in.invalid);
      // Every copy D365 already held, and every in-file copy, is a duplicate.
      CHECK(second.summary.duplicates == created_first + in.duplicates);
      CHECK(stats.bulk_rolled_back > 0);
    }
  }
}

TEST_CASE("import: permanent errors and exhausted retries go to the rejects with their reason",
          "[app][import][integration]") {
  sim::SimOptions o;
  o.entity_sets[0].allow_unknown_properties = false;
  sim::Simulator sim(o);
  auto config = d365_config(sim, odata::BatchFormat::multipart, true);
  config.mapping.fixed_properties = {{"NotAProperty", "1"}};  // the simulator answers 400 0x80060888
  auto run = run_import(config, invoice_line(1, "1") + "\n" + invoice_line(2, "2") + "\n");
  CHECK(run.summary.failed == 2);
  CHECK(sim.stats().creates == 0);
  REQUIRE(run.rejects.size() == 2);
  CHECK(run.rejects[0].reason == "rejected");
  CHECK(run.rejects[0].status == 400);
  CHECK(run.rejects[0].line == 1);
  CHECK(run.rejects[0].to_json().find(R"("invoice":{"vendor_account":"V-1")") != std::string::npos);

  sim::SimOptions down;
  down.faults.request_error_probability = 1.0;
  down.faults.error_statuses = {503};
  sim::Simulator broken(down);
  auto settings = fast_settings();
  settings.pipeline.backoff.max_attempts = 3;
  auto failed = run_import(d365_config(broken, odata::BatchFormat::multipart, true), invoice_line(1, "1") + "\n",
                           settings);
  CHECK(failed.summary.failed == 1);
  CHECK(failed.summary.retried == 2);
  CHECK(failed.summary.requests_sent == 3);
  REQUIRE(failed.rejects.size() == 1);
  CHECK(failed.rejects[0].reason == "exhausted");
  CHECK(failed.rejects[0].status == 503);
}

TEST_CASE("import: over TLS with a throwaway CA", "[app][import][integration]") {
  ib::testing::TempDir dir("import-tls");
  const auto d = dir.path().string();
  auto sh = [](const std::string& cmd) {
    INFO(cmd);
    REQUIRE(std::system((cmd + " >/dev/null 2>&1").c_str()) == 0);
  };
  sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=import-test-ca -keyout " + d + "/ca.key -out " + d +
     "/ca.pem");
  sh("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d + "/srv.key -out " + d + "/srv.csr");
  sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > " + d + "/ext.cnf");
  sh("openssl x509 -req -in " + d + "/srv.csr -CA " + d + "/ca.pem -CAkey " + d +
     "/ca.key -CAcreateserial -days 2 -extfile " + d + "/ext.cnf -out " + d + "/srv.pem");

  sim::SimOptions o;
  o.tls = {d + "/srv.pem", d + "/srv.key"};
  o.faults.operation_error_probability = 0.05;
  o.faults.error_statuses = {503};
  o.auth.enabled = true;
  sim::Simulator sim(o);
  REQUIRE(sim.base_url().rfind("https://", 0) == 0);
  auto config = d365_config(sim, odata::BatchFormat::multipart, true);
  // The certificate names localhost; verification checks the host name of the URL.
  config.base_url = "https://localhost:" + std::to_string(sim.port());
  config.tls_ca_file = d + "/ca.pem";
  config.auth.mode = http::AuthMode::client_credentials;
  config.auth.token_url = config.base_url + "/tenant-1/oauth2/v2.0/token";
  config.auth.client_id = o.auth.client_id;
  config.auth.scope = "https://org.crm.dynamics.com/.default";
  config.auth.client_secret_env = "IB_TEST_SECRET";
  const auto in = make_input(1'000, 4);
  auto run = run_import(config, in.text, fast_settings(), {{"IB_TEST_SECRET", o.auth.client_secret}});
  check_exactly_once(sim, in, run);
  CHECK(sim.stats().unauthorized == 0);

  // Without the CA the certificate fails verification: a configuration problem, so the
  // import stops at once with OpenSSL's reason and the host (exit 2 in import_command),
  // sends nothing more, and D365 holds exactly what it held.
  auto untrusted = config;
  untrusted.tls_ca_file.clear();
  const auto records_before = sim.records().size();
  try {
    (void)run_import(untrusted, make_input(50, 5).text, fast_settings(), {{"IB_TEST_SECRET", o.auth.client_secret}});
    FAIL("import went on after a TLS verification failure");
  } catch (const std::exception& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("TLS certificate verification failed for localhost:" + std::to_string(sim.port())) !=
          std::string::npos);
  }
  CHECK(sim.records().size() == records_before);
}
