#include "metrics/metrics_server_config.hpp"

#include <boost/asio/ip/address.hpp>

namespace ib::metrics {

void MetricsServerConfig::load(config::ConfigSource& s) {
  int wide_port = port;
  s.read("metrics.address", address);
  s.read("metrics.port", wide_port);
  if (wide_port < 0 || wide_port > 65535) {
    s.add_problem("metrics.port: must be between 0 and 65535, got " + std::to_string(wide_port));
  } else {
    port = static_cast<std::uint16_t>(wide_port);
  }
}

std::vector<std::string> MetricsServerConfig::validate() const {
  std::vector<std::string> problems;
  boost::system::error_code ec;
  boost::asio::ip::make_address(address, ec);
  if (ec) {
    problems.push_back("metrics.address: '" + address +
                       "' is not an IP address (an IPv4 or IPv6 literal such as 0.0.0.0 or ::)");
  }
  return problems;
}

}  // namespace ib::metrics
