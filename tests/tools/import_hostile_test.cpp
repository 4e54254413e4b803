// `invoice-bridge import` (the built binary, $IB_INVOICE_BRIDGE) against a scripted hostile
// server whose multipart answers name the wrong requests: the summary counters and every
// rejects line.
#include "testing/scripted_http_server.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

using ib::testing::RawReply;
using ib::testing::ScriptedHttpServer;

namespace {

const char* const kBoundary = "batchresponse_import-hostile";

std::string mpart(const std::string& content_id, int status, const std::string& headers = "",
                  const std::string& body = "") {
  return std::string("--") + kBoundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n" +
         "Content-ID: " + content_id + "\r\n\r\nHTTP/1.1 " + std::to_string(status) + " Scripted\r\n" + headers +
         "\r\n" + body + "\r\n";
}
std::string json_error(const std::string& code, const std::string& message) {
  return R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
}
RawReply batch_answer(const std::string& parts) {
  return ib::testing::http_reply(200, {{"Content-Type", std::string("multipart/mixed; boundary=") + kBoundary}},
                                 parts + "--" + kBoundary + "--\r\n");
}

std::string invoice_line(const std::string& number) {
  return R"({"vendor_account":"V1","invoice_number":")" + number +
         R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":10})";
}

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("import binary: misattributed Content-IDs: each invoice gets only the answer that names it",
          "[tools][import][integration]") {
  const char* bin = std::getenv("IB_INVOICE_BRIDGE");
  REQUIRE(bin != nullptr);
  const std::string dup = json_error("0x80040237", "A record with matching key values already exists.");
  const std::string bad = json_error("0x80044331", "A validation error occurred.");
  ScriptedHttpServer server({
      // Batch 1 (lines 1-4 as Content-IDs 1-4): 2 and 1 answered out of order, 1 answered
      // twice (the copy is ignored), 9 names no request: 3 and 4 are not processed.
      batch_answer(mpart("2", 412, "Content-Type: application/json\r\n", dup) +
                   mpart("1", 204, "OData-EntityId: http://x/api/data/v9.2/VendorInvoices(11111111-1111-1111-1111-111111111111)\r\n") +
                   mpart("1", 400, "Content-Type: application/json\r\n", bad) + mpart("9", 204)),
      // Batch 2 (lines 3 and 4 resent as Content-IDs 1 and 2), answered in reverse order.
      batch_answer(mpart("2", 204) + mpart("1", 400, "Content-Type: application/json\r\n", bad)),
  });
  ib::testing::TempDir dir("import-hostile");
  const auto config = dir.path() / "config.yaml";
  std::ofstream(config) << "log: {level: warn, format: text}\n"
                           "batch: {max_items: 10, linger: 1ms}\n"
                           "retry: {initial: 10ms, max_delay: 50ms}\n"
                           "d365:\n  base_url: " << server.url() << "\n";
  const auto input = dir.path() / "in.ndjson";
  std::ofstream(input) << invoice_line("H-1") << "\n" << invoice_line("H-2") << "\n" << invoice_line("H-3") << "\n"
                       << invoice_line("H-4") << "\n";
  const auto rejects = dir.path() / "rejects.ndjson";
  const auto summary = dir.path() / "summary.json";
  const auto err = dir.path() / "stderr.txt";
  const std::string cmd = std::string("'") + bin + "' import --config '" + config.string() + "' '" + input.string() +
                          "' --rejects '" + rejects.string() + "' --summary-json '" + summary.string() +
                          "' --no-progress 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  INFO(slurp(err));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);  // one line failed

  const auto s = boost::json::parse(slurp(summary)).as_object();
  CHECK(s.at("read").as_int64() == 4);
  CHECK(s.at("imported").as_int64() == 2);    // H-1 (batch 1), H-4 (batch 2)
  CHECK(s.at("duplicates").as_int64() == 1);  // H-2
  CHECK(s.at("failed").as_int64() == 1);      // H-3
  CHECK(s.at("invalid").as_int64() == 0);
  CHECK(s.at("conflicts").as_int64() == 0);
  CHECK(s.at("retried").as_int64() == 0);
  CHECK(s.at("resent").as_int64() == 2);      // H-3, H-4: not processed, not an attempt
  CHECK(s.at("throttled").as_int64() == 0);
  CHECK(s.at("requests_sent").as_int64() == 2);

  std::istringstream lines(slurp(rejects));
  std::string line;
  std::vector<boost::json::object> rows;
  while (std::getline(lines, line)) rows.push_back(boost::json::parse(line).as_object());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("line").as_int64() == 3);
  CHECK(rows[0].at("reason").as_string() == "rejected");
  CHECK(rows[0].at("status").as_int64() == 400);
  CHECK(rows[0].at("error").as_string() == "400 0x80044331: A validation error occurred.");
  CHECK(rows[0].at("invoice").as_object().at("invoice_number").as_string() == "H-3");

  const auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].body.find("Content-ID: 4") != std::string::npos);
  CHECK(seen[1].body.find("Content-ID: 3") == std::string::npos);  // the resend holds two requests
  CHECK(seen[1].body.find("H-3") != std::string::npos);
  CHECK(seen[1].body.find("H-4") != std::string::npos);
}
