// sim_bench: N keep-alive client connections send $batch requests of B creates each to the
// simulator (in-process on its own io_context thread, or an external one with --port) and
// report created records per second. Command and figures: docs/benchmarks.md.
#include "raw_client.hpp"
#include "sim/simulator.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace ib::sim::testing;

int main(int argc, char** argv) {
  int connections = 4, batch = 100, port = 0;
  long total = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--connections") connections = std::atoi(argv[i + 1]);
    else if (a == "--records") total = std::atol(argv[i + 1]);
    else if (a == "--batch") batch = std::atoi(argv[i + 1]);
    else if (a == "--port") port = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: sim_bench [--connections N] [--records N] [--batch N] [--port P]\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: sim_bench [--connections N] [--records N] [--batch N] [--port P]\n");
    return 2;
  }
  std::unique_ptr<ib::sim::Simulator> sim;
  if (!port) {
    ib::sim::SimOptions o;
    o.max_batch_requests = std::max(1000, batch);
    sim = std::make_unique<ib::sim::Simulator>(o);
    port = sim->port();
  }
  const long batches = total / batch;
  std::atomic<long> next{0}, created{0}, failed{0};
  const Headers headers = {{"Content-Type", "multipart/mixed; boundary=batch_t"},
                           {"Prefer", "odata.continue-on-error"}};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&] {
      RawClient c(static_cast<std::uint16_t>(port));
      std::string body;
      for (;;) {
        const long b = next++;
        if (b >= batches) return;
        body.clear();
        for (int i = 0; i < batch; ++i) {
          body += "--batch_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                  "POST /api/data/v9.2/VendorInvoices HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n"
                  "{\"VendorAccount\":\"V";
          body += std::to_string(b % 97);
          body += "\",\"InvoiceNumber\":\"INV-";
          body += std::to_string(b * batch + i);
          body += "\",\"Amount\":1234.56,\"Currency\":\"EUR\",\"InvoiceDate\":\"2024-03-01\",\"Company\":\"USMF\"}\r\n";
        }
        body += "--batch_t--\r\n";
        auto r = c.request("POST", "/api/data/v9.2/$batch", body, headers);
        if (r.status != 200) {
          ++failed;
          continue;
        }
        long n = 0;
        for (std::size_t at = r.body.find("HTTP/1.1 204"); at != std::string::npos; at = r.body.find("HTTP/1.1 204", at + 1)) ++n;
        created += n;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("connections=%d batch=%d records=%ld failed_batches=%ld seconds=%.3f records_per_second=%.0f\n",
              connections, batch, created.load(), failed.load(), secs, static_cast<double>(created.load()) / secs);
  if (sim) {
    const auto st = sim->stats();
    std::printf("simulator: records=%llu creates=%llu\n", static_cast<unsigned long long>(st.records),
                static_cast<unsigned long long>(st.creates));
  }
  return failed.load() == 0 ? 0 : 1;
}
