// odata_bench: throughput of the pure codec path per invoice: JSON decode + dedup key +
// fingerprint + mapping (ib::invoice), $batch encode, and reading a 1000-part response.
// Not a ctest test; figures in docs/benchmarks.md ("OData codec").

#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"
#include "invoice/invoice_mapping.hpp"
#include "odata/batch_result.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string payload(int i) {
  return R"({"vendor_account":"V-)" + std::to_string(i % 97) + R"(","invoice_number":"INV-)" + std::to_string(i) +
         R"(","company":"USMF","invoice_date":"2026-11-01","due_date":"2026-12-01","currency":"EUR",)"
         R"("amount":"1234.50","tax":19,"lines":[{"description":"Widgets","quantity":3,"unit_price":"300.00","amount":900},)"
         R"({"description":"Service","quantity":1,"unit_price":334.5,"amount":"334.5"}]})";
}

}  // namespace

int main() {
  constexpr int kInvoices = 100000;
  constexpr int kBatch = 1000;
  std::vector<std::string> payloads;
  for (int i = 0; i < kInvoices; ++i) payloads.push_back(payload(i));

  const ib::invoice::DecodeConfig dc;
  const ib::invoice::KeyConfig kc;
  const ib::invoice::MappingConfig mc;
  std::vector<ib::odata::EntityWrite> writes;
  writes.reserve(kInvoices);
  std::size_t bytes = 0;
  auto t0 = Clock::now();
  for (const auto& p : payloads) {
    auto inv = ib::invoice::decode_json(p, dc).value();
    const auto key = ib::invoice::dedup_key(inv, kc);
    bytes += key.size() + ib::invoice::fingerprint(inv).size();
    auto m = ib::invoice::map_invoice(inv, mc, key);
    writes.push_back({std::move(m.entity_set), std::move(m.key), std::move(m.body)});
  }
  const double t_decode = seconds_since(t0);

  ib::odata::BatchConfig bc;
  bc.service_url = "https://org.crm.dynamics.com/api/data/v9.2";
  bc.operation = ib::odata::Operation::create_if_absent;
  std::vector<ib::odata::EncodedBatch> batches;
  t0 = Clock::now();
  for (int b = 0; b < kInvoices / kBatch; ++b) {
    std::vector<ib::odata::EntityWrite> chunk(writes.begin() + b * kBatch, writes.begin() + (b + 1) * kBatch);
    batches.push_back(ib::odata::encode_batch(chunk, bc).value());
  }
  const double t_encode = seconds_since(t0);

  std::string body;
  for (int i = 0; i < kBatch; ++i) {
    body += "--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n";
    if (i % 10 == 0) {
      body += "HTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json\r\n\r\n"
              "{\"error\":{\"code\":\"0x80040237\",\"message\":\"A record with matching key values already exists.\"}}\r\n";
    } else {
      body += "HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nOData-EntityId: "
              "https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices(d31ba648-c592-ed11-aad1-000d3a993550)\r\n\r\n\r\n";
    }
  }
  body += "--batchresponse_1--\r\n";
  ib::odata::BatchHttpResponse resp{200, {{"Content-Type", "multipart/mixed; boundary=batchresponse_1"}}, body};
  std::size_t created = 0;
  t0 = Clock::now();
  for (const auto& b : batches) {
    for (const auto& r : ib::odata::read_batch_response(b, resp, ib::odata::ClassifyConfig{}))
      created += r.classification.outcome == ib::core::AnswerClass::created;
  }
  const double t_read = seconds_since(t0);

  std::printf("invoices: %d, batches of %d (create_if_absent, multipart)\n", kInvoices, kBatch);
  std::printf("decode+key+fingerprint+map: %.2f us/invoice (%.0f invoices/s)\n", 1e6 * t_decode / kInvoices,
              kInvoices / t_decode);
  std::printf("encode $batch:              %.2f us/request, %.2f ms/batch, %zu bytes/batch\n",
              1e6 * t_encode / kInvoices, 1e3 * t_encode / (kInvoices / kBatch), batches[0].body.size());
  std::printf("read+match+classify:        %.2f us/part, %.2f ms/batch (%zu bytes)\n", 1e6 * t_read / kInvoices,
              1e3 * t_read / (kInvoices / kBatch), body.size());
  std::printf("(checksum %zu %zu)\n", bytes, created);
  return 0;
}
