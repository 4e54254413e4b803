#include "test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace ib::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
void run(const std::string& command) {
  const std::string quiet = command + " >/dev/null 2>&1";
  if (std::system(quiet.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}
}  // namespace

TestPki make_test_pki(const std::filesystem::path& dir) {
  TestPki pki{dir / "ca.pem", dir / "other-ca.pem", dir / "server.pem", dir / "server.key"};
  const std::string d = dir.string();
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  for (const auto& name : {std::string("ca"), std::string("other-ca")}) {
    run("openssl req -x509" + ec + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name +
        ".pem -days 2 -subj '/CN=ib test " + name + "'" +
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
  }
  run("openssl req -new" + ec + " -keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=localhost");
  std::ofstream(dir / "server.ext") << "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                       "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
  run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
      "/ca.key -CAcreateserial -out " + d + "/server.pem -days 2 -extfile " + d + "/server.ext");
  return pki;
}

struct TestServer::Impl {
  Handler handler;
  std::optional<ssl::context> tls;  // outlives the io_context (streams use it)
  asio::io_context ctx;
  tcp::acceptor acceptor{ctx};
  std::thread thread;

  mutable std::mutex mutex;
  std::vector<SeenRequest> seen;
  int accepted = 0;
  int open = 0;
  int max_open = 0;
  int close_after_n = 0;

  template <typename Stream>
  asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& tcp, int id, std::string sni) {
    beast::flat_buffer buffer;
    for (int index = 1;; ++index) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(16 << 20);
      tcp.expires_after(std::chrono::seconds(30));
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
      if (ec) co_return;
      auto req = parser.release();
      SeenRequest s;
      s.method = std::string(req.method_string());
      s.target = std::string(req.target());
      for (const auto& f : req) s.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      s.body = req.body();
      s.connection = id;
      s.index_on_connection = index;
      s.sni = sni;
      int close_after;
      {
        std::lock_guard lock(mutex);
        seen.push_back(s);
        close_after = close_after_n;
      }
      const Reply reply = handler(s);
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(ctx, reply.delay);
        co_await timer.async_wait(use_tuple);
      }
      if (reply.close_without_answer) co_return;
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
      for (const auto& [k, v] : reply.headers) res.set(k, v);
      res.body() = reply.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      tcp.expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await bhttp::async_write(stream, res, use_tuple);
      if (wec || !req.keep_alive()) co_return;
      if (close_after > 0 && index >= close_after) co_return;  // silently: the client's copy goes stale
    }
  }

  asio::awaitable<void> session(tcp::socket socket, int id) {
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
      auto& tcp = beast::get_lowest_layer(stream);
      tcp.expires_after(std::chrono::seconds(10));
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
      if (!ec) {
        const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        co_await serve(stream, tcp, id, name ? name : "");
      }
      beast::error_code ignored;
      tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
      tcp.socket().close(ignored);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, stream, id, "");
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
    }
    std::lock_guard lock(mutex);
    --open;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      int id;
      {
        std::lock_guard lock(mutex);
        id = ++accepted;
        ++open;
        max_open = std::max(max_open, open);
      }
      asio::co_spawn(ctx, session(std::move(socket), id), asio::detached);
    }
  }
};

TestServer::TestServer(Handler handler, std::optional<TestPki> pki) : impl_(std::make_shared<Impl>()) {
  impl_->handler = std::move(handler);
  if (pki) {
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(pki->server_cert.string());
    impl_->tls->use_private_key_file(pki->server_key.string(), ssl::context::pem);
  }
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->ctx, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_] { impl->ctx.run(); });
}

TestServer::~TestServer() {
  impl_->ctx.stop();
  impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

std::uint16_t TestServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string TestServer::url(const std::string& host) const {
  return std::string(impl_->tls ? "https://" : "http://") + host + ":" + std::to_string(port());
}

void TestServer::close_after(int n) {
  std::lock_guard lock(impl_->mutex);
  impl_->close_after_n = n;
}

int TestServer::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

int TestServer::max_concurrent_connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->max_open;
}

int TestServer::open_connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->open;
}

int TestServer::count(const std::string& method) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<int>(std::count_if(impl_->seen.begin(), impl_->seen.end(),
                                        [&](const SeenRequest& s) { return s.method == method; }));
}

std::vector<SeenRequest> TestServer::seen() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen;
}

}  // namespace ib::http::testing
