#include "http/beast_transport.hpp"
#include "http/transport.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

using namespace ib::http;

TEST_CASE("http_types: header lookup ignores case and returns the first match") {
  Response r{200, {{"Content-Type", "application/json"}, {"retry-after", "5"}, {"Retry-After", "9"}}, ""};
  CHECK(r.header("content-type") == std::optional<std::string_view>("application/json"));
  CHECK(r.header("RETRY-AFTER") == std::optional<std::string_view>("5"));
  CHECK_FALSE(r.header("Location").has_value());
}

TEST_CASE("http_types: transient classification of every transport error") {
  struct Row {
    TransportError error;
    bool transient;
    std::string_view name;
  };
  const Row rows[] = {
      {TransportError::invalid_request, false, "invalid_request"},
      {TransportError::resolve_failed, true, "resolve_failed"},
      {TransportError::connect_failed, true, "connect_failed"},
      {TransportError::tls_failed, false, "tls_failed"},
      {TransportError::tls_verify_failed, false, "tls_verify_failed"},
      {TransportError::timeout, true, "timeout"},
      {TransportError::connection_reset, true, "connection_reset"},
      {TransportError::protocol_error, false, "protocol_error"},
      {TransportError::body_too_large, false, "body_too_large"},
      {TransportError::auth_unavailable, true, "auth_unavailable"},
      {TransportError::auth_rejected, false, "auth_rejected"},
      {TransportError::shutdown, false, "shutdown"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    CHECK(is_transient(row.error) == row.transient);
    CHECK(to_string(row.error) == row.name);
  }
}

TEST_CASE("http_types: a Result holds either a response or a failure") {
  Result ok = Response{204, {}, ""};
  REQUIRE(ok);
  CHECK(ok->status == 204);
  Result bad = Failure{TransportError::timeout, "slow", true};
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == TransportError::timeout);
  CHECK(to_string(bad.error()) == "timeout: slow");
  CHECK_THROWS_WITH(bad.value(), "timeout: slow");
}

TEST_CASE("http_config: defaults with a base URL are valid") {
  BeastTransportConfig c;
  c.base_url = "https://org.crm.dynamics.com/api/data/v9.2/";
  CHECK(c.validate().empty());
  c.base_url = "http://127.0.0.1:8080";
  CHECK(c.validate().empty());
  c.base_url = "http://[::1]:8080/data";
  CHECK(c.validate().empty());
}

TEST_CASE("http_config: validate reports every problem at once") {
  BeastTransportConfig c;
  c.base_url = "ftp://user@host/x?q=1#f";
  c.max_connections = 0;
  c.default_deadline = std::chrono::milliseconds(0);
  c.idle_timeout = std::chrono::milliseconds(-1);
  c.max_response_body_bytes = 10;
  c.tls_ca_file = "/nonexistent/ca.pem";
  const auto problems = c.validate();
  const auto has = [&](std::string_view needle) {
    for (const auto& p : problems) {
      if (p.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(has("http.base_url: scheme"));
  CHECK(has("user info"));
  CHECK(has("query"));
  CHECK(has("fragment"));
  CHECK(has("http.max_connections"));
  CHECK(has("http.default_deadline"));
  CHECK(has("http.idle_timeout"));
  CHECK(has("http.max_response_body_bytes"));
  CHECK(has("http.tls_ca_file"));
  BeastTransportConfig empty;
  CHECK(empty.validate().size() == 1);
  CHECK(empty.validate()[0].rfind("http.base_url", 0) == 0);
  boost::asio::io_context ctx;
  CHECK_THROWS_AS(BeastTransport(ctx.get_executor(), empty), std::invalid_argument);
}
