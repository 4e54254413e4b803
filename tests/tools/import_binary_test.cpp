// Integration: the built `invoice-bridge import` binary against the in-process D365
// simulator. Its rejects file is NDJSON a tool can read: every line parses as JSON, a line
// that was not UTF-8 keeps its exact bytes (invoice_base64), a JSON line is embedded as
// its own text (a huge decimal is not rewritten through a double), and a 38-digit amount
// that was imported lands in the simulator byte for byte.
#include "core/utf8.hpp"
#include "sim/simulator.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace ib;

namespace {

std::string line_of(const std::string& number, const std::string& vendor, const std::string& amount) {
  return R"({"vendor_account":")" + vendor + R"(","invoice_number":")" + number +
         R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" + amount +
         R"(,"lines":[{"description":"Widgets","quantity":1,"amount":)" + amount + "}]}";
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("import binary: the rejects file is JSON with the exact bytes of every rejected line",
          "[tools][import][utf8][integration]") {
  const char* bin = std::getenv("IB_INVOICE_BRIDGE");
  REQUIRE(bin != nullptr);
  sim::Simulator sim(sim::SimOptions{});
  ib::testing::TempDir dir("import-binary");
  const auto d = dir.path();

  const std::string latin1 = line_of("INV-1", "M\xFCller", "10.5");  // 'ü' in Latin-1
  // 40 digits: more than a decimal(38) holds, so invalid; JSON and UTF-8 all the same.
  const std::string huge_amount = "123456789012345678901234567890.1234567891";
  const std::string huge = line_of("INV-2", "V-1", huge_amount);
  // 38 digits: valid, imported, stored exactly.
  const std::string exact_amount = "1234567890123456789012345678.9012345678";
  const std::string exact = line_of("INV-3", "V-1", exact_amount);
  {
    std::ofstream in(d / "in.ndjson", std::ios::binary);
    in << latin1 << '\n' << huge << '\n' << exact << '\n';
    std::ofstream cfg(d / "config.yaml");
    cfg << "d365:\n  base_url: " << sim.base_url() << "\n  request_deadline: 20s\n";
  }
  const std::string cmd = std::string(bin) + " import --config " + (d / "config.yaml").string() +
                          " --no-progress --rejects " + (d / "rejects.ndjson").string() + " --summary-json " +
                          (d / "summary.json").string() + " " + (d / "in.ndjson").string() + " >" +
                          (d / "out.txt").string() + " 2>" + (d / "err.txt").string();
  const int rc = std::system(cmd.c_str());
  INFO(cmd);
  INFO("stderr: " << [&] { std::stringstream s; s << std::ifstream(d / "err.txt").rdbuf(); return s.str(); }());
  REQUIRE(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 1);  // some lines were invalid

  const auto rejects = read_lines(d / "rejects.ndjson");
  REQUIRE(rejects.size() == 2);
  std::vector<boost::json::object> parsed;
  for (const auto& l : rejects) {
    INFO(l);
    boost::system::error_code ec;
    auto v = boost::json::parse(l, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    parsed.push_back(v.as_object());
  }
  // Line 1: not UTF-8, so not JSON: text with U+FFFD, and the exact bytes in base64.
  CHECK(parsed[0].at("line").as_int64() == 1);
  CHECK(parsed[0].at("reason").as_string() == "invalid");
  CHECK(parsed[0].at("invoice").as_string() == core::to_valid_utf8(latin1));
  CHECK(std::string(parsed[0].at("invoice").as_string()).find("M\xEF\xBF\xBDller") != std::string::npos);
  std::string bytes;
  REQUIRE(core::base64_decode(std::string(parsed[0].at("invoice_base64").as_string()), bytes));
  CHECK(bytes == latin1);
  // Line 2: JSON, embedded as its own text: the 40-digit amount is not rewritten.
  CHECK(parsed[1].at("line").as_int64() == 2);
  CHECK(parsed[1].at("reason").as_string() == "invalid");
  CHECK(rejects[1].find(R"("invoice":)" + huge + "}") != std::string::npos);
  CHECK_FALSE(parsed[1].contains("invoice_base64"));

  // Line 3 was imported; the simulator holds its amount byte for byte.
  const auto records = sim.records();
  REQUIRE(records.size() == 1);
  CHECK(records[0].json.find("\"Amount\":" + exact_amount + ",") != std::string::npos);
  boost::system::error_code ec;
  const auto summary = boost::json::parse(read_lines(d / "summary.json").at(0), ec);
  REQUIRE_FALSE(ec);
  CHECK(summary.at("imported").as_int64() == 1);
  CHECK(summary.at("invalid").as_int64() == 2);
  CHECK_FALSE(summary.as_object().contains("bulk"));  // $batch: no bulk block
}

TEST_CASE("import binary with CreateMultiple: the summary counts the bulk messages, the refusal "
          "and its fallback, and every invoice has its outcome",
          "[tools][import][bulk][integration]") {
  const char* bin = std::getenv("IB_INVOICE_BRIDGE");
  REQUIRE(bin != nullptr);
  sim::Simulator sim(sim::SimOptions{});
  // D365 holds INV-2 already: the one message of five invoices is refused whole, the
  // fallback `$batch` writes the four others and answers INV-2 as a duplicate.
  sim.load_records_json(R"({"VendorInvoices":[{"VendorAccount":"V-1","InvoiceNumber":"INV-2","Company":"ACME",)"
                        R"("InvoiceDate":"2026-11-01","Currency":"EUR","Amount":10.5}]})");
  ib::testing::TempDir dir("import-binary-bulk");
  const auto d = dir.path();
  {
    std::ofstream in(d / "in.ndjson", std::ios::binary);
    for (int i = 1; i <= 5; ++i) {
      in << R"({"vendor_account":"V-1","invoice_number":"INV-)" << i
         << R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":10.5})" << '\n';
    }
    std::ofstream cfg(d / "config.yaml");
    cfg << "d365:\n  base_url: " << sim.base_url()
        << "\n  request_deadline: 20s\n  odata: {operation: create_multiple, entity_type: vendorinvoice}\n"
           "  mapping: {lines_format: omit}\n";
  }
  const std::string cmd = std::string(bin) + " import --config " + (d / "config.yaml").string() +
                          " --no-progress --summary-json " + (d / "summary.json").string() + " " +
                          (d / "in.ndjson").string() + " >/dev/null 2>" + (d / "err.txt").string();
  const int rc = std::system(cmd.c_str());
  INFO("stderr: " << [&] { std::stringstream s; s << std::ifstream(d / "err.txt").rdbuf(); return s.str(); }());
  REQUIRE(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 0);
  const auto stats = sim.stats();
  CHECK(stats.records == 5);
  CHECK(stats.creates == 4);
  CHECK(stats.keys_created_more_than_once.empty());
  CHECK(stats.bulk_messages == 1);
  CHECK(stats.bulk_rolled_back == 1);
  boost::system::error_code ec;
  const auto summary = boost::json::parse(read_lines(d / "summary.json").at(0), ec);
  REQUIRE_FALSE(ec);
  CHECK(summary.at("imported").as_int64() == 4);
  CHECK(summary.at("duplicates").as_int64() == 1);
  CHECK(summary.at("failed").as_int64() == 0);
  CHECK(summary.at("requests_sent").as_int64() == 1);  // one batch: a message and its fallback
  const auto& bulk = summary.at("bulk").as_object();
  CHECK(bulk.at("messages").as_int64() == 1);
  CHECK(bulk.at("refused").as_int64() == 1);
  CHECK(bulk.at("fallback_batches").as_int64() == 1);
  CHECK(bulk.at("skipped").as_int64() == 0);
}
