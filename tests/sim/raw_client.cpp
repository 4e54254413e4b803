#include "raw_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cctype>
#include <optional>

namespace ib::sim::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct RawClient::Impl {
  std::uint16_t port;
  bool tls;
  asio::io_context ctx;
  asio::ssl::context ssl_ctx{asio::ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  int connects = 0;

  Impl(std::uint16_t p, bool t, const std::string& ca) : port(p), tls(t) {
    if (!ca.empty()) {
      ssl_ctx.load_verify_file(ca);
      ssl_ctx.set_verify_mode(asio::ssl::verify_peer);
    } else {
      ssl_ctx.set_verify_mode(asio::ssl::verify_none);
    }
  }

  bool open() const { return tls ? secure.has_value() : plain.has_value(); }

  void connect() {
    buffer.clear();
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    beast::tcp_stream s(ctx);
    s.expires_after(std::chrono::seconds(30));
    s.connect(ep);
    ++connects;
    if (!tls) {
      plain.emplace(std::move(s));
      return;
    }
    secure.emplace(std::move(s), ssl_ctx);
    SSL_set_tlsext_host_name(secure->native_handle(), "localhost");
    secure->handshake(asio::ssl::stream_base::client);
  }

  void close() {
    plain.reset();
    secure.reset();
  }

  template <typename Stream>
  Reply exchange(Stream& s, http::request<http::string_body>& req) {
    Reply r;
    beast::error_code ec;
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
    http::write(s, req, ec);
    if (ec) {
      r.error = "write: " + ec.message();
      return r;
    }
    std::optional<http::response_parser<http::string_body>> parser;
    // Interim 1xx answers (100 Continue) come before the real one.
    do {
      parser.emplace();
      parser->body_limit(256 * 1024 * 1024);
      http::read(s, buffer, *parser, ec);
      if (ec) {
        r.error = "read: " + ec.message();
        return r;
      }
      r.interim.push_back(static_cast<int>(parser->get().result_int()));
    } while (parser->get().result_int() / 100 == 1);
    r.interim.pop_back();
    auto& res = parser->get();
    r.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return r;
  }
};

RawClient::RawClient(std::uint16_t port, bool tls, std::string ca_file)
    : impl_(std::make_unique<Impl>(port, tls, ca_file)) {}
RawClient::~RawClient() = default;
int RawClient::connects() const { return impl_->connects; }

Reply RawClient::request(const std::string& method, const std::string& target, const std::string& body,
                         const Headers& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    has_ct = has_ct || k == "Content-Type";
  }
  if (!body.empty() && !has_ct) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->open()) impl_->connect();
    } catch (const std::exception& e) {
      Reply r;
      r.error = std::string("connect: ") + e.what();
      return r;
    }
    Reply r = impl_->tls ? impl_->exchange(*impl_->secure, req) : impl_->exchange(*impl_->plain, req);
    if (r.error.empty()) return r;
    impl_->close();
    // A write failure on a connection the server had already closed: retry once on a fresh
    // one. A read failure is the answer (reset tests need to see it).
    if (r.error.rfind("write", 0) != 0 || attempt == 1) return r;
  }
  return {};
}

namespace {

std::string boundary_of(const std::string& ct) {
  auto at = ct.find("boundary=");
  if (at == std::string::npos) return {};
  auto b = ct.substr(at + 9);
  b = b.substr(0, b.find(';'));
  if (b.size() >= 2 && b.front() == '"') b = b.substr(1, b.size() - 2);
  return b;
}

void scan(const std::string& body, const std::string& boundary, bool in_cs, std::vector<ResponsePart>& out) {
  const std::string delim = "--" + boundary;
  std::size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    pos += delim.size();
    if (body.compare(pos, 2, "--") == 0) return;
    const auto next = body.find("\r\n" + delim, pos);
    const std::string chunk = body.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    const auto header_end = chunk.find("\r\n\r\n");
    const std::string headers = chunk.substr(0, header_end);
    if (headers.find("multipart/mixed") != std::string::npos) {
      auto ct_at = headers.find("Content-Type:");
      auto line_end = headers.find("\r\n", ct_at);
      scan(chunk.substr(header_end + 4), boundary_of(headers.substr(ct_at, line_end - ct_at)), true, out);
    } else {
      ResponsePart p;
      p.in_change_set = in_cs;
      auto cid = headers.find("Content-ID: ");
      if (cid != std::string::npos) p.content_id = headers.substr(cid + 12, headers.find("\r\n", cid) - cid - 12);
      const auto http_at = chunk.find("HTTP/1.1 ", header_end);
      if (http_at != std::string::npos) p.status = std::stoi(chunk.substr(http_at + 9, 3));
      const auto inner_end = chunk.find("\r\n\r\n", http_at);
      if (inner_end != std::string::npos) p.body = chunk.substr(inner_end + 4);
      out.push_back(p);
    }
    pos = next == std::string::npos ? next : next + 2;
  }
}

}  // namespace

std::vector<ResponsePart> split_batch(const std::string& content_type, const std::string& body) {
  std::vector<ResponsePart> out;
  scan(body, boundary_of(content_type), false, out);
  return out;
}

std::string batch_of_creates(const std::vector<std::string>& bodies, const std::string& entity_path) {
  std::string b;
  for (const auto& body : bodies) {
    b += "--batch_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n";
    b += "POST " + entity_path + " HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n";
    b += body + "\r\n";
  }
  b += "--batch_t--\r\n";
  return b;
}

std::string invoice(const std::string& vendor, const std::string& number, double amount) {
  std::string a = std::to_string(amount);
  return R"({"VendorAccount":")" + vendor + R"(","InvoiceNumber":")" + number + R"(","Amount":)" + a + "}";
}

}  // namespace ib::sim::testing
