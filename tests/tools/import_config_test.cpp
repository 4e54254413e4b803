// The d365 config section, the example config, and `import_command` end to end (config file,
// input file, rejects, summary JSON, exit status) against the in-process simulator.
#include "d365/d365_config.hpp"
#include "app/daemon_config.hpp"
#include "tools/import_command.hpp"
#include "sim/simulator.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace ib;

namespace {

std::vector<std::string> problems_of(const std::string& yaml, config::Environment env = {}) {
  config::ConfigSource source(yaml, "test.yaml", std::move(env));
  d365::D365Config c;
  c.load(source);
  auto problems = source.problems();
  for (auto& p : c.validate()) problems.push_back(p);
  return problems;
}

bool mentions(const std::vector<std::string>& problems, std::string_view what) {
  for (const auto& p : problems) {
    if (p.find(what) != std::string::npos) return true;
  }
  return false;
}

void write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string invoice_line(const std::string& number, const std::string& amount) {
  return R"({"vendor_account":"V1","invoice_number":")" + number +
         R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" + amount + "}\n";
}

}  // namespace

TEST_CASE("d365 config: the example file is accepted by check-config's loader") {
  auto loaded = app::load_daemon_config(IB_SOURCE_DIR "/deploy/invoice-bridge.example.yaml", {});
  INFO(Catch::Detail::stringify(loaded.problems));
  CHECK(loaded.problems.empty());
  CHECK(loaded.config.d365.auth.mode == http::AuthMode::client_credentials);
  CHECK(loaded.config.d365.auth.effective_token_url() ==
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token");
  CHECK(loaded.config.d365.service_url() == "https://contoso.crm.dynamics.com/api/data/v9.2");
}

TEST_CASE("d365 config: every key is read, environment overrides win") {
  config::ConfigSource source(R"(
d365:
  base_url: http://127.0.0.1:9000
  service_root: /data
  odata: {format: json, url_form: relative, operation: upsert, continue_on_error: false, atomic: true}
  classify: {duplicate_statuses: [409, 412], default_retry_after: 7s}
  key: {case: preserve, include_company: false}
  mapping: {entity_set: VendInvoiceHeaders, fixed_properties: {dataAreaId: '"usmf"'}}
)",
                              "t.yaml", {{"IB_D365__ODATA__FORMAT", "multipart"}});
  d365::D365Config c;
  c.load(source);
  CHECK(source.problems().empty());
  CHECK(source.unknown_keys().empty());
  CHECK(c.validate().empty());
  CHECK(c.odata.format == odata::BatchFormat::multipart);
  CHECK(c.odata.url_form == odata::UrlForm::relative);
  CHECK(c.odata.operation == odata::Operation::upsert);
  CHECK_FALSE(c.odata.continue_on_error);
  CHECK(c.odata.atomic);
  CHECK(c.classify.duplicate_statuses == std::vector<int>{409, 412});
  CHECK(c.classify.default_retry_after == std::chrono::seconds(7));
  CHECK(c.key.key_case == invoice::KeyCase::preserve);
  CHECK(c.mapping.entity_set == "VendInvoiceHeaders");
  const auto client = c.batch_client_config(250);
  CHECK(client.odata.service_url == "http://127.0.0.1:9000/data");
  CHECK(client.odata.max_requests == 250);  // batch.max_items, the one batch size
}

TEST_CASE("d365 config: every problem at once, each naming its key") {
  auto p = problems_of(R"(
d365:
  base_url: ftp://host/path
  service_root: api
  max_connections: 0
  auth: {mode: client_credentials}
  odata: {format: xml}
)");
  CHECK(mentions(p, "d365.base_url"));
  CHECK(mentions(p, "d365.service_root"));
  CHECK(mentions(p, "d365.max_connections"));
  CHECK(mentions(p, "tenant or token_url"));
  CHECK(mentions(p, "d365.auth.client_id"));
  CHECK(mentions(p, "client_secret_file and client_secret_env"));
  CHECK(mentions(p, "d365.odata.format"));
  CHECK(mentions(problems_of("d365: {auth: {mode: static_token}}"), "token_file and token_env"));
  CHECK(problems_of("d365: {base_url: 'https://org.crm.dynamics.com'}").empty());
}

TEST_CASE("import_command: config + NDJSON file -> records, rejects, summary JSON, exit status",
          "[integration]") {
  sim::Simulator sim(sim::SimOptions{});
  ib::testing::TempDir dir("import-cmd");
  const auto config = dir.path() / "config.yaml";
  write(config, "log: {level: warn, format: text}\n"
                "retry: {initial: 10ms, max_delay: 50ms}\n"
                "d365:\n  base_url: " + sim.base_url() + "\n");
  const auto input = dir.path() / "in.ndjson";

  SECTION("clean file: exit 0") {
    write(input, invoice_line("A-1", "10") + invoice_line("A-2", "20") + "\n" + invoice_line("A-1", "10.0"));
    tools::ImportOptions o{config.string(), input.string(), "", (dir.path() / "summary.json").string(), false};
    CHECK(tools::import_command(o) == 0);
    CHECK(sim.stats().creates == 2);
    auto summary = boost::json::parse(slurp(dir.path() / "summary.json")).as_object();
    CHECK(summary.at("read").as_int64() == 3);
    CHECK(summary.at("imported").as_int64() == 2);
    CHECK(summary.at("duplicates").as_int64() == 1);
    CHECK(summary.at("requests_sent").as_int64() == 1);
    CHECK(slurp(input.string() + ".rejects.ndjson").empty());
  }
  SECTION("a conflict and an invalid line: exit 1, both in the rejects file") {
    write(input, invoice_line("B-1", "10") + invoice_line("B-1", "11") + "not json\n");
    const auto rejects = dir.path() / "rejects.ndjson";
    tools::ImportOptions o{config.string(), input.string(), rejects.string(), "", false};
    CHECK(tools::import_command(o) == 1);
    CHECK(sim.stats().creates == 1);
    std::istringstream lines(slurp(rejects));
    std::string line;
    std::vector<boost::json::object> rows;
    while (std::getline(lines, line)) rows.push_back(boost::json::parse(line).as_object());
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].at("line").as_int64() == 2);
    CHECK(rows[0].at("reason").as_string() == "conflict");
    CHECK(rows[0].at("invoice").as_object().at("amount").as_int64() == 11);
    CHECK(rows[1].at("reason").as_string() == "invalid");
    CHECK(rows[1].at("invoice").as_string() == "not json");
  }
  SECTION("bad config or missing input: exit 2") {
    write(dir.path() / "bad.yaml", "d365: {base_url: nope, odata: {format: xml}}\n");
    CHECK(tools::import_command({(dir.path() / "bad.yaml").string(), input.string(), "", "", false}) == 2);
    CHECK(tools::import_command({config.string(), (dir.path() / "missing.ndjson").string(), "", "", false}) == 2);
  }
  SECTION("a directory as input is an error, not an empty file: exit 2") {
    std::filesystem::create_directory(dir.path() / "in.d");
    CHECK(tools::import_command({config.string(), (dir.path() / "in.d").string(),
                                 (dir.path() / "rejects.ndjson").string(), "", false}) == 2);
  }
}
