// Many clients at once never create one alternate key twice.
#include "raw_client.hpp"
#include "sim/simulator.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using namespace ib::sim;
using namespace ib::sim::testing;
namespace json = boost::json;

TEST_CASE("sim_concurrency: concurrent clients sending the same keys create each key once") {
  SimOptions o;
  o.faults.operation_latency_ms = 0.2;  // interleave connections between batches
  Simulator sim(o);
  constexpr int kClients = 8;
  constexpr int kKeys = 300;
  const Headers headers = {{"Content-Type", "multipart/mixed; boundary=batch_t"},
                           {"Prefer", "odata.continue-on-error"}};
  std::vector<std::thread> threads;
  std::vector<int> created(kClients, 0), duplicates(kClients, 0), other(kClients, 0);
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      RawClient c(sim.port());
      // Every client walks all keys, in batches of 50, from a different starting point;
      // odd clients use upserts with If-None-Match: * instead of POST.
      for (int start = 0; start < kKeys; start += 50) {
        std::string body;
        for (int i = 0; i < 50; ++i) {
          const int k = (start + i + t * 37) % kKeys;
          body += "--batch_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n";
          if (t % 2 == 0) {
            body += "POST /api/data/v9.2/VendorInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" +
                    invoice("C", "K" + std::to_string(k)) + "\r\n";
          } else {
            body += "PATCH /api/data/v9.2/VendorInvoices(VendorAccount='C',InvoiceNumber='K" + std::to_string(k) +
                    "') HTTP/1.1\r\nContent-Type: application/json\r\nIf-None-Match: *\r\n\r\n{\"Amount\":1}\r\n";
          }
        }
        body += "--batch_t--\r\n";
        auto r = c.request("POST", "/api/data/v9.2/$batch", body, headers);
        if (r.status != 200) {
          ++other[t];
          continue;
        }
        for (const auto& p : split_batch(r.header("content-type"), r.body)) {
          if (p.status == 204) ++created[t];
          else if (p.status == 412) ++duplicates[t];
          else ++other[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  int total_created = 0, total_dup = 0;
  for (int t = 0; t < kClients; ++t) {
    total_created += created[t];
    total_dup += duplicates[t];
    CHECK(other[t] == 0);
  }
  CHECK(total_created == kKeys);
  CHECK(total_dup == kKeys * (kClients - 1));
  const auto st = sim.stats();
  CHECK(st.records == kKeys);
  CHECK(st.creates == kKeys);
  REQUIRE(st.creates_per_key_histogram.size() == 1);
  CHECK(st.creates_per_key_histogram.at(1) == kKeys);
  CHECK(st.keys_created_more_than_once.empty());
}
