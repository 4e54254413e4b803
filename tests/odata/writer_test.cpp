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

namespace {

EntityWrite fno_header(std::string ref, std::size_t lines) {
  EntityWrite w{"VendorInvoiceHeaders", {{"dataAreaId", "usmf"}, {"HeaderReference", ref}},
                R"({"HeaderReference":")" + ref + R"("})"};
  for (std::size_t k = 1; k <= lines; ++k)
    w.lines.push_back({"VendorInvoiceLines", {{"HeaderReference", ref}, {"InvoiceLineNumber", std::to_string(k)}},
                       R"({"InvoiceLineNumber":)" + std::to_string(k) + "}"});
  return w;
}

}  // namespace

TEST_CASE("writer: an invoice with lines is a change set of its own inside a non-atomic batch") {
  auto c = config();
  c.service_url = "https://env.operations.dynamics.com/data";
  auto b = encode_batch({fno_header("HR-1", 2), invoice("PLAIN")}, c, "b1");
  REQUIRE(b.has_value());
  CHECK(b->content_ids == std::vector<std::string>{"1", "2"});
  CHECK(b->line_ids == std::vector<std::vector<std::string>>{{"1-1", "1-2"}, {}});
  CHECK(b->body ==
        "--batch_b1\r\nContent-Type: multipart/mixed; boundary=changeset_b1_1\r\n\r\n"
        "--changeset_b1_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
        "POST /data/VendorInvoiceHeaders HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"HeaderReference\":\"HR-1\"}\r\n"
        "--changeset_b1_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1-1\r\n\r\n"
        "POST /data/VendorInvoiceLines HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"InvoiceLineNumber\":1}\r\n"
        "--changeset_b1_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1-2\r\n\r\n"
        "POST /data/VendorInvoiceLines HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"InvoiceLineNumber\":2}\r\n"
        "--changeset_b1_1--\r\n"
        "--batch_b1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n"
        "POST /data/VendorInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"Amount\":100.5}\r\n"
        "--batch_b1--\r\n");
  CHECK(header(*b, "Prefer") == "odata.continue-on-error");
  // The reader sees the three requests of the change set as in one.
  const auto parsed = parse_batch_response(b->content_type, b->body);
  CHECK(parsed.error.empty());
  REQUIRE(parsed.parts.size() == 4);
  CHECK(parsed.parts[2].in_change_set);
  CHECK_FALSE(parsed.parts[3].in_change_set);

  // Lines count against max_requests; keyed operations need keys on lines too; no lines of lines.
  c.max_requests = 3;
  CHECK(encode_batch({fno_header("HR-1", 2), invoice("X")}, c).error().message.find("4 requests exceed") == 0);
  c.max_requests = 1000;
  c.operation = Operation::upsert;
  auto keyless = fno_header("HR-1", 1);
  keyless.lines[0].key.clear();
  CHECK(encode_batch({keyless}, c).error().message == "request 0 line 1: operation upsert needs an alternate key");
  auto nested = fno_header("HR-1", 1);
  nested.lines[0].lines.push_back(nested.lines[0]);
  CHECK(encode_batch({nested}, c).error().message == "request 0 line 1: a line cannot have lines");
}

TEST_CASE("writer: JSON batch: one atomicityGroup per invoice with lines") {
  auto c = config();
  c.format = BatchFormat::json;
  auto b = encode_batch({invoice("PLAIN"), fno_header("HR-1", 1)}, c);
  REQUIRE(b.has_value());
  auto v = boost::json::parse(b->body);
  const auto& reqs = v.at("requests").as_array();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].as_object().if_contains("atomicityGroup") == nullptr);
  CHECK(reqs[1].at("id").as_string() == "2");
  CHECK(reqs[1].at("atomicityGroup").as_string() == "cs2");
  CHECK(reqs[2].at("id").as_string() == "2-1");
  CHECK(reqs[2].at("atomicityGroup").as_string() == "cs2");
  CHECK(reqs[2].at("url").as_string() == "/api/data/v9.2/VendorInvoiceLines");
}
