// Integration: `import` (run_import over the config's EntityInvoiceCodec and BatchClient on a
// real socket) with `d365.profile: finance_operations` against the in-process simulator's
// Finance and Operations profile: each invoice is a VendorInvoiceHeaders record and its
// VendorInvoiceLines in one change set; the exact outcome of every invoice and what the
// simulator holds afterwards, in both batch formats.
#include "d365/d365_config.hpp"
#include "d365/d365_transport.hpp"
#include "invoice/invoice_keys.hpp"
#include "sim/simulator.hpp"
#include "tools/import_command.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <sstream>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace ib;

namespace {

// The simulator answers the first `$batch` with its injected fault (a whole-batch 503);
// this transport then clears the faults, so exactly that first attempt fails. It also
// counts the invoices (header requests) of that first batch.
class FirstBatchFails final : public http::Transport {
public:
  FirstBatchFails(std::shared_ptr<http::Transport> inner, sim::Simulator& sim) : inner_(std::move(inner)), sim_(sim) {}

  asio::awaitable<http::Result> send(http::Request request) override {
    const bool first = !seen_;
    seen_ = true;
    if (first) {
      for (auto at = request.body.find("VendorInvoiceHeaders"); at != std::string::npos;
           at = request.body.find("VendorInvoiceHeaders", at + 1))
        ++first_batch_invoices;
    }
    auto result = co_await inner_->send(std::move(request));
    if (first) sim_.set_faults(sim::FaultOptions{});
    co_return result;
  }

  std::size_t first_batch_invoices = 0;

private:
  std::shared_ptr<http::Transport> inner_;
  sim::Simulator& sim_;
  bool seen_ = false;
};

std::string line_json(const std::string& item, const std::string& quantity, const std::string& price,
                      const std::string& amount) {
  std::string s = R"({"amount":)" + amount;
  if (!item.empty()) s += R"(,"item":")" + item + '"';
  if (!quantity.empty()) s += R"(,"quantity":)" + quantity;
  if (!price.empty()) s += R"(,"unit_price":)" + price;
  return s + "}";
}

std::string invoice_json(const std::string& company, const std::string& vendor, const std::string& number,
                    const std::string& amount, const std::vector<std::string>& lines) {
  std::string s = R"({"vendor_account":")" + vendor + R"(","invoice_number":")" + number + R"(","company":")" +
                  company + R"(","invoice_date":"2026-11-01","due_date":"2026-12-01","currency":"EUR","amount":)" +
                  amount + R"(,"description":"Nov \"#)" + number + R"(\"")";
  if (!lines.empty()) {
    s += R"(,"lines":[)";
    for (std::size_t i = 0; i < lines.size(); ++i) s += (i ? "," : "") + lines[i];
    s += "]";
  }
  return s + "}";
}

// HeaderReference of an invoice: the bridge's derivation over its dedup key.
std::string ref(const std::string& company, const std::string& vendor, const std::string& number) {
  invoice::Invoice inv;
  inv.company = company;
  inv.vendor_account = vendor;
  inv.invoice_number = number;
  return invoice::header_reference(invoice::dedup_key(inv, {}));
}

struct Run {
  tools::ImportSummary summary;
  std::vector<tools::ImportReject> rejects;
  std::size_t first_batch_invoices = 0;
};

Run run_import(const d365::D365Config& config, sim::Simulator& sim, const std::string& input) {
  tools::ImportSettings settings;
  // Batches of 3 invoices: the eight sent are [A B C] [D E F] [G H], each one `$batch` (a
  // `$batch` holds up to 1,000 operations, header + lines, so an invoice with 3 lines, 4
  // operations, goes through although the batcher's size is 3). Only the first meets the 503; D
  // and E, already in F&O, come later, so their answer is a plain duplicate (after an
  // unanswered attempt of their own it would be `recovered`, counted as imported: our write
  // may have landed).
  settings.pipeline.batch.max_items = 3;
  settings.pipeline.aimd.max_in_flight = 1;  // one batch at a time: only the first meets the fault
  settings.pipeline.backoff.initial = std::chrono::milliseconds(5);
  settings.pipeline.backoff.max_delay = std::chrono::milliseconds(40);
  settings.pipeline.backoff.max_attempts = 5;
  settings.seed = 7;
  Run out;
  asio::io_context io;
  d365::EntityInvoiceCodec codec(config.invoice, config.key, config.mapping);
  auto transport = std::make_shared<FirstBatchFails>(d365::make_d365_transport(io.get_executor(), config, {}), sim);
  auto sender = d365::make_sender(transport, config, settings.pipeline.batch.max_items);
  std::istringstream stream(input);
  std::optional<tools::ImportSummary> summary;
  std::exception_ptr error;
  asio::co_spawn(io,
                 tools::run_import(stream, codec, *sender, settings,
                                   [&](const tools::ImportReject& r) { out.rejects.push_back(r); }, nullptr),
                 [&](std::exception_ptr e, tools::ImportSummary s) {
                   error = e;
                   if (!e) summary = s;
                 });
  io.run_for(std::chrono::seconds(50));
  if (error) std::rethrow_exception(error);
  REQUIRE(summary);
  out.summary = *summary;
  out.first_batch_invoices = transport->first_batch_invoices;
  return out;
}

// The simulator's records of `set` by key ("usmf|IB...|2"): the JSON text it stores (exact
// decimals, which a parse into doubles would round).
std::map<std::string, std::string> records_of(const sim::Simulator& sim, const std::string& set) {
  std::map<std::string, std::string> out;
  for (const auto& r : sim.records()) {
    if (r.entity_set != set) continue;
    std::string key;
    for (const auto& k : r.key) key += (key.empty() ? "" : "|") + k;
    REQUIRE(out.emplace(key, r.json).second);
  }
  return out;
}

std::string string_field(const std::string& record, const char* name) {
  return std::string(json::parse(record).at(name).as_string());
}

}  // namespace

TEST_CASE("import F&O: headers and lines in one change set each; duplicates by key and by vendor + number; "
          "a refused line rolls its invoice back; a 503 is retried",
          "[app][import][integration][fno]") {
  for (const auto* format : {"multipart", "json"}) {
    DYNAMIC_SECTION("d365.odata.format " << format) {
      // The simulator's F&O profile, with two line rules of its own so that a line can be
      // refused: an item is required, and an item appears on one line per company (a
      // stand-in for any line-level refusal; it answers F&O's "The record already exists").
      auto options = sim::SimOptions::finance_operations();
      for (auto& set : options.entity_sets) {
        if (set.name != "VendorInvoiceLines") continue;
        set.required_properties = {"ItemNumber"};
        set.unique_properties = {"dataAreaId", "ItemNumber"};
      }
      options.faults.request_error_probability = 1.0;  // the first $batch: 503 (FirstBatchFails)
      options.faults.error_statuses = {503};
      sim::Simulator sim(options);

      // Already in F&O: D, imported earlier by us (its header carries the reference the
      // bridge derives, and a line with item X-1); E, entered by another client under
      // another reference with the same vendor + invoice number in usmf.
      const auto ref_d = ref("usmf", "V-3", "INV-D");
      sim.load_records_json(
          R"({"VendorInvoiceHeaders":[)"
          R"({"dataAreaId":"usmf","HeaderReference":")" + ref_d +
          R"(","VendorAccount":"V-3","InvoiceNumber":"INV-D","Currency":"EUR"},)"
          R"({"dataAreaId":"usmf","HeaderReference":"MANUAL-0001","VendorAccount":"V-4","InvoiceNumber":"INV-E","Currency":"EUR"}],)"
          R"("VendorInvoiceLines":[{"dataAreaId":"usmf","HeaderReference":")" + ref_d +
          R"(","InvoiceLineNumber":1,"ItemNumber":"X-1","Amount":5}]})");
      const auto seeded_creates = sim.stats().creates;

      const std::vector<std::string> c_lines = {line_json("C-1", "1", "100", "100"),
                                                line_json("C-2", "3", "33.333333333333333333", "99.999999999999999999"),
                                                line_json("C-3", "", "", "100.000000000000000001")};
      const std::vector<std::string> c_respelt = {line_json("C-1", "1", "1e2", "100.0"), c_lines[1], c_lines[2]};
      const std::string input =
          invoice_json("usmf", "V-1", "INV-A", "0", {}) + "\n" +                                     // 1 A: no lines
          invoice_json("usmf", "V-1", "INV-B", "10", {line_json("B-1", "2", "5", "10")}) + "\n" +  // 2 B: 1 line
          invoice_json("usmf", "V-2", "INV-C", "300", c_lines) + "\n" +                             // 3 C: 3 lines
          invoice_json("usmf", "V-1", "INV-A", "0", {}) + "\n" +                                     // 4 copy of A
          invoice_json("usmf", "V-3", "INV-D", "5", {line_json("D-1", "", "", "5")}) + "\n" +      // 5 D: in F&O
          invoice_json("usmf", "V-4", "INV-E", "7", {line_json("E-1", "", "", "7")}) + "\n" +      // 6 E: its number in F&O
          invoice_json("demf", "V-4", "INV-E", "7", {line_json("F-1", "", "", "7")}) + "\n" +      // 7 F: other company
          invoice_json("usmf", "V-2", "INV-C", "300.00", c_respelt) + "\n" +                        // 8 copy of C, respelt
          invoice_json("usmf", "V-5", "INV-G", "20", {line_json("G-1", "", "", "10"), line_json("X-1", "", "", "10")}) +
          "\n" +                                                                                    // 9 G: line 2 refused
          invoice_json("usmf", "V-6", "INV-H", "20", {line_json("", "1", "20", "20")}) + "\n";     // 10 H: line 1 refused

      config::ConfigSource source("d365:\n  profile: finance_operations\n  base_url: " + sim.base_url() +
                                      "\n  request_deadline: 20s\n  odata: {format: " + format + "}\n",
                                  "fno.yaml");
      d365::D365Config config;
      config.load(source);
      REQUIRE(source.problems().empty());
      REQUIRE(config.validate().empty());
      REQUIRE(config.service_url() == sim.base_url() + "/data");

      const auto run = run_import(config, sim, input);
      INFO(run.summary.to_line());

      // Every invoice's outcome: created A, B, C, F; duplicates: the two copies in the file
      // and D, E in F&O; rejected G and H, each naming its line.
      CHECK(run.summary.read == 10);
      CHECK(run.summary.invalid == 0);
      CHECK(run.summary.conflicts == 0);
      CHECK(run.summary.imported == 4);
      CHECK(run.summary.duplicates == 4);
      CHECK(run.summary.failed == 2);
      CHECK(run.summary.unsettled == 0);
      // The first $batch (A, B, C) met the 503; each of its invoices was retried once.
      CHECK(run.first_batch_invoices == 3);
      CHECK(run.summary.retried == 3);
      CHECK(sim.stats().injected_errors == 1);
      REQUIRE(run.rejects.size() == 2);
      auto rejects = run.rejects;  // in settlement order; by line here
      std::sort(rejects.begin(), rejects.end(), [](const auto& x, const auto& y) { return x.line < y.line; });
      const auto& g = rejects[0];
      CHECK(g.line == 9);
      CHECK(g.reason == "rejected");
      CHECK(g.status == 400);
      CHECK(g.error ==
            "line 2: 400: An error has occurred. (Write failed for table row of type 'VendorInvoiceLineEntity'. "
            "Infolog: Error: Cannot create a record in Pending vendor invoice lines (VendInvoiceInfoLine). "
            "The record already exists.)");
      const auto& h = rejects[1];
      CHECK(h.line == 10);
      CHECK(h.reason == "rejected");
      CHECK(h.status == 400);
      CHECK(h.error ==
            "line 1: 400: An error has occurred. (Write failed for table row of type 'VendorInvoiceLineEntity'. "
            "Infolog: Error: Field 'ItemNumber' must be filled in.)");

      // What F&O holds: each header once, with exactly its lines; nothing of G or H.
      const auto ref_a = ref("usmf", "V-1", "INV-A");
      const auto ref_b = ref("usmf", "V-1", "INV-B");
      const auto ref_c = ref("usmf", "V-2", "INV-C");
      const auto ref_f = ref("demf", "V-4", "INV-E");
      const auto headers = records_of(sim, "VendorInvoiceHeaders");
      std::vector<std::string> header_keys;
      for (const auto& [k, v] : headers) header_keys.push_back(k);
      std::vector<std::string> want_headers = {"usmf|" + ref_a, "usmf|" + ref_b, "usmf|" + ref_c,
                                               "demf|" + ref_f, "usmf|" + ref_d, "usmf|MANUAL-0001"};
      std::sort(want_headers.begin(), want_headers.end());
      CHECK(header_keys == want_headers);
      const auto& a = headers.at("usmf|" + ref_a);
      CHECK(a ==
            R"({"VendorAccount":"V-1","InvoiceNumber":"INV-A","dataAreaId":"usmf","HeaderReference":")" + ref_a +
                R"(","InvoiceDate":"2026-11-01","DueDate":"2026-12-01","Currency":"EUR","InvoiceDescription":"Nov \"#INV-A\""})");
      CHECK(headers.at("usmf|" + ref_c).find("Amount") == std::string::npos);  // F&O totals the lines
      CHECK(string_field(headers.at("demf|" + ref_f), "InvoiceNumber") == "INV-E");
      CHECK(string_field(headers.at("usmf|MANUAL-0001"), "VendorAccount") == "V-4");  // untouched

      const auto lines = records_of(sim, "VendorInvoiceLines");
      std::vector<std::string> line_keys;
      for (const auto& [k, v] : lines) line_keys.push_back(k);
      std::vector<std::string> want_lines = {"usmf|" + ref_b + "|1", "usmf|" + ref_c + "|1", "usmf|" + ref_c + "|2",
                                             "usmf|" + ref_c + "|3", "demf|" + ref_f + "|1", "usmf|" + ref_d + "|1"};
      std::sort(want_lines.begin(), want_lines.end());
      CHECK(line_keys == want_lines);
      CHECK(lines.at("usmf|" + ref_c + "|2") ==
            R"({"dataAreaId":"usmf","HeaderReference":")" + ref_c +
                R"(","InvoiceLineNumber":2,"ItemNumber":"C-2","ReceiveNow":3,"UnitPrice":33.333333333333333333,)"
                R"("Amount":99.999999999999999999})");
      CHECK(lines.at("usmf|" + ref_c + "|3") ==
            R"({"dataAreaId":"usmf","HeaderReference":")" + ref_c +
                R"(","InvoiceLineNumber":3,"ItemNumber":"C-3","Amount":100.000000000000000001})");
      CHECK(string_field(lines.at("usmf|" + ref_d + "|1"), "ItemNumber") == "X-1");  // the seeded line stays

      const auto stats = sim.stats();
      CHECK(stats.creates - seeded_creates == 4 + 5);  // A, B, C, F and their 5 lines
      CHECK(stats.keys_created_more_than_once.empty());
      CHECK(stats.rolled_back_change_sets >= 2);  // G, H (and D, E: duplicate headers)
    }
  }
}
