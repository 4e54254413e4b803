// The metrics section, read and checked by its module.
#include "metrics/metrics_server_config.hpp"

#include <catch2/catch.hpp>

using ib::config::ConfigSource;
using ib::metrics::MetricsServerConfig;

TEST_CASE("metrics keys are read; the port must fit, the address must be an IP literal",
          "[metrics][config][unit]") {
  ConfigSource s("metrics: {address: '::', port: 9100}\n", "ib.yaml");
  MetricsServerConfig c;
  c.load(s);
  CHECK(s.problems().empty());
  CHECK(c.address == "::");
  CHECK(c.port == 9100);
  CHECK(c.validate().empty());

  ConfigSource bad("metrics: {address: localhost, port: 70000}\n", "ib.yaml");
  MetricsServerConfig d;
  d.load(bad);
  CHECK(bad.problems() == std::vector<std::string>{"metrics.port: must be between 0 and 65535, got 70000"});
  CHECK(d.port == 9464);
  CHECK(d.validate() == std::vector<std::string>{"metrics.address: 'localhost' is not an IP address (an IPv4 or "
                                                 "IPv6 literal such as 0.0.0.0 or ::)"});
  d.address = "0.0.0.0";
  CHECK(d.validate().empty());
}
