#include "odata/batch_reader.hpp"
#include "odata/batch_writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <catch2/catch.hpp>

#include <set>

using namespace ib::odata;

namespace {

BatchConfig config() {
  BatchConfig c;
  c.service_url = "https://org.crm.dynamics.com/api/data/v9.2";
  return c;
}

EntityWrite invoice(std::string number, std::string body = R"({"Amount":100.5})") {
  return EntityWrite{"VendorInvoices", {{"VendorAccount", "V-1"}, {"InvoiceNumber", std::move(number)}}, std::move(body)};
}

std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find("\r\n", pos);
    if (nl == std::string::npos) nl = body.size();
    out.push_back(body.substr(pos, nl - pos));
    pos = nl + 2;
  }
  return out;
}

std::vector<std::string> request_lines(const std::string& body) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(body)) {
    if (l.rfind("POST ", 0) == 0 || l.rfind("PATCH ", 0) == 0) out.push_back(l);
  }
  return out;
}

std::string header(const EncodedBatch& b, std::string_view name) {
  return std::string(find_header(b.headers, name).value_or("<none>"));
}

}  // namespace

TEST_CASE("writer: default multipart batch, independent requests, CRLF, Content-ID per part") {
  const auto b = encode_batch({invoice("A-1"), invoice("A-2"), invoice("A-3")}, config()).value();
  CHECK(b.boundary.rfind("batch_", 0) == 0);
  CHECK(b.boundary.size() == 6 + 36);
  CHECK(b.content_type == "multipart/mixed; boundary=" + b.boundary);
  // Unquoted needs a token: nothing but letters, digits, '_' and '-'.
  CHECK(b.boundary.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos);
  CHECK(header(b, "Content-Type") == b.content_type);
  CHECK(header(b, "OData-MaxVersion") == "4.0");
  CHECK(header(b, "OData-Version") == "4.0");
  CHECK(header(b, "Accept") == "multipart/mixed, application/json;q=0.9");
  CHECK(header(b, "Prefer") == "odata.continue-on-error");
  CHECK(b.url == "https://org.crm.dynamics.com/api/data/v9.2/$batch");
  CHECK(b.target == "/api/data/v9.2/$batch");
  CHECK(b.content_ids == std::vector<std::string>{"1", "2", "3"});
  for (std::size_t i = 0; i < b.body.size(); ++i) {
    if (b.body[i] == '\n') REQUIRE((i > 0 && b.body[i - 1] == '\r'));
  }
  const auto lines = lines_of(b.body);
  CHECK(std::count(lines.begin(), lines.end(), "--" + b.boundary) == 3);
  CHECK(lines.back() == "--" + b.boundary + "--");
  CHECK(std::count(lines.begin(), lines.end(), "Content-ID: 2") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "Content-Type: application/http") == 3);
  CHECK(std::count(lines.begin(), lines.end(), "Content-Transfer-Encoding: binary") == 3);
  CHECK(b.body.find("changeset") == std::string::npos);
  CHECK(b.body.find("If-None-Match") == std::string::npos);
  CHECK(request_lines(b.body) ==
        std::vector<std::string>(3, "POST /api/data/v9.2/VendorInvoices HTTP/1.1"));
  CHECK(std::count(lines.begin(), lines.end(), R"({"Amount":100.5})") == 3);
}

TEST_CASE("writer: boundaries are unique per batch; a fixed id is used as given") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(encode_batch({invoice("A")}, config()).value().boundary);
  CHECK(seen.size() == 50);
  CHECK(encode_batch({invoice("A")}, config(), "fixed").value().boundary == "batch_fixed");
}

TEST_CASE("writer: inner URL forms") {
  auto c = config();
  c.url_form = UrlForm::relative;
  CHECK(request_lines(encode_batch({invoice("A")}, c).value().body)[0] == "POST VendorInvoices HTTP/1.1");
  c.url_form = UrlForm::absolute_uri;
  CHECK(request_lines(encode_batch({invoice("A")}, c).value().body)[0] ==
        "POST https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices HTTP/1.1");
  c.service_url = "http://127.0.0.1:8080/data/";
  c.url_form = UrlForm::absolute_path;
  const auto b = encode_batch({invoice("A")}, c).value();
  CHECK(request_lines(b.body)[0] == "POST /data/VendorInvoices HTTP/1.1");
  CHECK(b.url == "http://127.0.0.1:8080/data/$batch");
}

TEST_CASE("writer: operations") {
  auto c = config();
  c.operation = Operation::create_if_absent;
  auto b = encode_batch({invoice("INV-1")}, c).value();
  CHECK(request_lines(b.body)[0] ==
        "PATCH /api/data/v9.2/VendorInvoices(VendorAccount='V-1',InvoiceNumber='INV-1') HTTP/1.1");
  CHECK(b.body.find("\r\nIf-None-Match: *\r\n") != std::string::npos);
  c.operation = Operation::upsert;
  b = encode_batch({invoice("INV-1")}, c).value();
  CHECK(request_lines(b.body)[0].rfind("PATCH ", 0) == 0);
  CHECK(b.body.find("If-None-Match") == std::string::npos);
}

TEST_CASE("writer: continue-on-error can be switched off") {
  auto c = config();
  c.continue_on_error = false;
  CHECK(header(encode_batch({invoice("A")}, c).value(), "Prefer") == "<none>");
}

TEST_CASE("writer: atomic mode puts every request in one change set") {
  auto c = config();
  c.atomic = true;
  const auto b = encode_batch({invoice("A"), invoice("B")}, c).value();
  const auto lines = lines_of(b.body);
  REQUIRE(lines.size() > 3);
  CHECK(lines[0] == "--" + b.boundary);
  CHECK(lines[1].rfind("Content-Type: multipart/mixed; boundary=changeset_", 0) == 0);
  const auto cs = multipart_boundary(lines[1].substr(14));
  REQUIRE(cs);
  CHECK(std::count(lines.begin(), lines.end(), "--" + *cs) == 2);
  CHECK(std::count(lines.begin(), lines.end(), "--" + *cs + "--") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "--" + b.boundary) == 1);
  CHECK(lines.back() == "--" + b.boundary + "--");
  CHECK(std::count(lines.begin(), lines.end(), "Content-ID: 1") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "Content-ID: 2") == 1);
}

TEST_CASE("writer: OData 4.01 JSON batch") {
  auto c = config();
  c.format = BatchFormat::json;
  c.operation = Operation::create_if_absent;
  const auto b = encode_batch({invoice("A'1"), invoice("B")}, c).value();
  CHECK(b.content_type == "application/json");
  CHECK(header(b, "OData-Version") == "4.01");
  const auto v = boost::json::parse(b.body);
  const auto& reqs = v.at("requests").as_array();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].at("id").as_string() == "1");
  CHECK(reqs[1].at("id").as_string() == "2");
  CHECK(reqs[0].at("method").as_string() == "PATCH");
  CHECK(reqs[0].at("url").as_string() ==
        "/api/data/v9.2/VendorInvoices(VendorAccount='V-1',InvoiceNumber='A%27%271')");
  CHECK(reqs[0].at("headers").at("if-none-match").as_string() == "*");
  CHECK(reqs[0].at("body").at("Amount").is_double());
  CHECK(!reqs[0].as_object().contains("atomicityGroup"));
  c.atomic = true;
  const auto a = boost::json::parse(encode_batch({invoice("A"), invoice("B")}, c).value().body);
  for (const auto& r : a.at("requests").as_array()) CHECK(r.at("atomicityGroup").as_string() == "g1");
}

TEST_CASE("writer: refuses what it cannot write") {
  auto c = config();
  CHECK(encode_batch({}, c).error().message.find("at least one") != std::string::npos);
  c.max_requests = 2;
  CHECK(encode_batch({invoice("A"), invoice("B"), invoice("C")}, c).error().message.find("exceed") !=
        std::string::npos);
  c = config();
  c.operation = Operation::upsert;
  EntityWrite keyless{"VendorInvoices", {}, "{}"};
  CHECK(encode_batch({keyless}, c).error().message.find("alternate key") != std::string::npos);
  CHECK(encode_batch({invoice("A", "[1,2]")}, config()).error().message.find("JSON object") !=
        std::string::npos);
  auto bad = config();
  bad.service_url = "not a url";
  CHECK(!encode_batch({invoice("A")}, bad));
}

TEST_CASE("BatchConfig::validate reports every problem") {
  BatchConfig c;
  c.max_requests = 0;
  const auto p = c.validate();
  REQUIRE(p.size() == 2);
  CHECK(p[0].rfind("odata.service_url:", 0) == 0);
  c.service_url = "ftp://x/y?q";
  c.max_requests = 5000;
  CHECK(c.validate().size() == 3);
  CHECK(config().validate().empty());
}

TEST_CASE("writer: nasty invoice numbers round-trip through the key predicate") {
  const std::vector<std::string> nasty = {
      "INV'1", "A/B", "C#1", "100%", "R&D", "1+1", "with space", "Ünïcødé-Straße", "''", "a'b''c",
      "ö/ä#%&+ '", "%27", "x?y=z", "(paren)", "comma,eq=", "日本語", "tab\there", "back\\slash"};
  for (const auto form : {UrlForm::absolute_path, UrlForm::relative, UrlForm::absolute_uri}) {
    auto c = config();
    c.operation = Operation::create_if_absent;
    c.url_form = form;
    for (const auto& n : nasty) {
      INFO("invoice number: " << n);
      const auto b = encode_batch({invoice(n)}, c).value();
      const auto line = request_lines(b.body).at(0);
      const auto url = line.substr(6, line.size() - 6 - 9);  // "PATCH " ... " HTTP/1.1"
      // Only URL-safe ASCII on the wire: no blanks, #, &, +, raw non-ASCII.
      for (unsigned char ch : url) {
        CHECK(ch > 0x20);
        CHECK(ch < 0x7f);
        CHECK(ch != '#');
        CHECK(ch != '&');
        CHECK(ch != '+');
        CHECK(ch != '?');
      }
      // A real URL parser sees one path, no query or fragment.
      auto u = boost::urls::parse_uri_reference(url);
      REQUIRE(u);
      CHECK(!u->has_query());
      CHECK(!u->has_fragment());
      const std::string path(u->encoded_path());
      const auto open = path.rfind("VendorInvoices(");
      REQUIRE(open != std::string::npos);
      CHECK(path.back() == ')');
      const auto predicate = path.substr(open + 15, path.size() - open - 16);
      const auto key = parse_key_predicate(predicate).value();
      REQUIRE(key.size() == 2);
      CHECK(key[0] == std::pair<std::string, std::string>{"VendorAccount", "V-1"});
      CHECK(key[1] == std::pair<std::string, std::string>{"InvoiceNumber", n});
    }
  }
}

TEST_CASE("odata url helpers") {
  CHECK(string_literal("O'Neil") == "'O''Neil'");
  CHECK(encoded_key_predicate({{"K", "a b"}}) == "K='a%20b'");
  CHECK(entity_path("Set", {}) == "Set");
  CHECK(!parse_key_predicate("K='unterminated"));
  CHECK(!parse_key_predicate("K=noquote"));
  CHECK(!parse_key_predicate("K='%zz'"));
}
