// The listener serves https with a given certificate (a throwaway CA made here).
#include "raw_client.hpp"
#include "sim/simulator.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using namespace ib::sim;
using namespace ib::sim::testing;

namespace {

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system((cmd + " >/dev/null 2>&1").c_str()) == 0);
}

}  // namespace

TEST_CASE("sim_tls: https with a certificate signed by a throwaway CA") {
  ib::testing::TempDir dir("sim-tls");
  const auto d = dir.path().string();
  sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sim-test-ca -keyout " + d + "/ca.key -out " + d + "/ca.pem");
  sh("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d + "/srv.key -out " + d + "/srv.csr");
  sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > " + d + "/ext.cnf");
  sh("openssl x509 -req -in " + d + "/srv.csr -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -days 2 -extfile " +
     d + "/ext.cnf -out " + d + "/srv.pem");

  SimOptions o;
  o.tls = {d + "/srv.pem", d + "/srv.key"};
  Simulator sim(o);
  CHECK(sim.base_url().rfind("https://", 0) == 0);
  RawClient c(sim.port(), true, d + "/ca.pem");
  auto r = c.request("POST", "/api/data/v9.2/VendorInvoices", invoice("T", "1"));
  REQUIRE(r.error.empty());
  CHECK(r.status == 204);
  CHECK(r.header("odata-entityid").rfind("https://", 0) == 0);
  CHECK(c.request("POST", "/api/data/v9.2/VendorInvoices", invoice("T", "1")).status == 412);
  CHECK(c.connects() == 1);

  // A plain-http client gets no answer from the TLS listener.
  RawClient plain(sim.port());
  CHECK(plain.request("GET", "/_sim/stats").status == 0);
  CHECK(sim.stats().records == 1);
}
