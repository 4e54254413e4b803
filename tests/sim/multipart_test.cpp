// The simulator's own multipart and inner-request parsers, with malformed inputs.
#include "sim/multipart.hpp"

#include <catch2/catch.hpp>

using namespace ib::sim;

TEST_CASE("sim_multipart: parts, headers and bodies of a well-formed body") {
  const std::string body =
      "preamble\r\n--b1\r\nContent-Type: application/http\r\nContent-ID:  7 \r\n\r\nPOST /x HTTP/1.1\r\n\r\n{}\r\n"
      "--b1\r\nContent-Type: application/http\r\n\r\n\r\n--b1--\r\nepilogue";
  auto r = parse_multipart(body, "b1", 10);
  REQUIRE(r.error.empty());
  REQUIRE(r.parts.size() == 2);
  CHECK(find_header(r.parts[0].headers, "content-id") == std::optional<std::string_view>("7"));
  CHECK(r.parts[0].body == "POST /x HTTP/1.1\r\n\r\n{}");
  CHECK(r.parts[1].body.empty());
}

TEST_CASE("sim_multipart: bare LF line ends and a delimiter-like text inside a line") {
  const std::string body = "--b\nA: 1\n\nx --b inside\n--b--\n";
  auto r = parse_multipart(body, "b", 10);
  REQUIRE(r.error.empty());
  REQUIRE(r.parts.size() == 1);
  CHECK(r.parts[0].body == "x --b inside");
}

TEST_CASE("sim_multipart: malformed bodies give an error, never a crash") {
  struct Case {
    std::string body;
    std::string boundary;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"", "b", "no delimiter"},
      {"no delimiter here", "b", "no delimiter"},
      {"--b\r\nA: 1\r\n\r\nbody without end", "b", "closing delimiter"},
      {"--b", "b", "closing delimiter"},
      {"--bX\r\n\r\n--b--", "b", "garbage"},
      {"--b\r\nno colon line\r\n\r\nx\r\n--b--", "b", "malformed header"},
      {"--b\r\n: empty name\r\n\r\nx\r\n--b--", "b", "malformed header"},
      {"--b\r\n folded: header\r\n\r\nx\r\n--b--", "b", "folded"},
      {"--b\r\nA: 1\r\nB: 2", "b", "closing delimiter"},
      {"x", "", "empty multipart boundary"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = parse_multipart(c.body, c.boundary, 10);
    CHECK_FALSE(r.error.empty());
    CHECK(r.error.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("sim_multipart: the part limit stops a huge body") {
  std::string body;
  for (int i = 0; i < 20; ++i) body += "--b\r\nA: 1\r\n\r\nx\r\n";
  body += "--b--\r\n";
  CHECK(parse_multipart(body, "b", 20).error.empty());
  CHECK(parse_multipart(body, "b", 19).error.find("too many parts") != std::string::npos);
}

TEST_CASE("sim_multipart: truncations of a valid body never crash") {
  const std::string body =
      "--batch_1\r\nContent-Type: multipart/mixed; boundary=cs_1\r\n\r\n--cs_1\r\nContent-Type: application/http\r\n"
      "Content-ID: 1\r\n\r\nPOST VendorInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n--cs_1--\r\n"
      "--batch_1--\r\n";
  for (std::size_t n = 0; n <= body.size(); ++n) {
    auto r = parse_multipart(std::string_view(body).substr(0, n), "batch_1", 1000);
    for (const auto& p : r.parts) {
      auto ct = find_header(p.headers, "Content-Type");
      if (auto b = ct ? multipart_boundary(*ct) : std::nullopt) {
        auto inner = parse_multipart(p.body, *b, 1000);
        for (const auto& ip : inner.parts) (void)parse_inner_request(ip.body);
      }
    }
  }
  auto full = parse_multipart(body, "batch_1", 1000);
  REQUIRE(full.error.empty());
  REQUIRE(full.parts.size() == 1);
}

TEST_CASE("sim_multipart: boundary parameter of Content-Type") {
  CHECK(multipart_boundary("multipart/mixed; boundary=batch_1") == std::optional<std::string>("batch_1"));
  CHECK(multipart_boundary("Multipart/Mixed;boundary=\"batch 1\"") == std::optional<std::string>("batch 1"));
  CHECK(multipart_boundary("multipart/mixed; charset=x; boundary=b") == std::optional<std::string>("b"));
  CHECK_FALSE(multipart_boundary("multipart/mixed"));
  CHECK_FALSE(multipart_boundary("application/json; boundary=b"));
  CHECK_FALSE(multipart_boundary("multipart/mixed; boundary="));
  CHECK_FALSE(multipart_boundary("multipart/mixed; boundary=" + std::string(71, 'x')));
}

TEST_CASE("sim_multipart: inner requests") {
  auto ok = parse_inner_request("POST /api/data/v9.2/VendorInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"a\":1}");
  REQUIRE(ok.error.empty());
  CHECK(ok.request.method == "POST");
  CHECK(ok.request.target == "/api/data/v9.2/VendorInvoices");
  CHECK(ok.request.body == "{\"a\":1}");
  auto no_body = parse_inner_request("DELETE VendorInvoices(1) HTTP/1.1\r\n");
  CHECK(no_body.error.empty());
  CHECK(no_body.request.body.empty());
  for (const char* bad : {"", "\r\n\r\n", "POST\r\n\r\n", "POST /x\r\n\r\n", "POST /x HTTP/2\r\n\r\n",
                          "post /x HTTP/1.1\r\n\r\n", "POST /x HTTP/1.1\r\nbad header\r\n\r\n"}) {
    INFO(bad);
    CHECK_FALSE(parse_inner_request(bad).error.empty());
  }
}
