#include "http/beast_transport.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <filesystem>
#include <stdexcept>

namespace ib::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct ParsedUrl {
  bool https = false;
  std::string host;         ///< for the resolver and certificate check (no brackets)
  std::string port;         ///< numeric, defaulted from the scheme
  std::string host_header;  ///< Host header value
  std::string base_path;    ///< encoded path without a trailing '/' ("" for the root)
  bool host_is_ip = false;
};

/// Parses the base URL; adds problems to `problems` and returns what it could.
ParsedUrl parse_base_url(const std::string& url, std::vector<std::string>& problems) {
  ParsedUrl out;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    problems.push_back("http.base_url: not a valid absolute URL: '" + url + "'");
    return out;
  }
  const auto& u = *parsed;
  const std::string scheme(u.scheme());
  if (scheme == "https") {
    out.https = true;
  } else if (scheme != "http") {
    problems.push_back("http.base_url: scheme must be http or https, not '" + scheme + "'");
  }
  if (u.has_userinfo()) problems.push_back("http.base_url: must not carry user info");
  if (u.has_query()) problems.push_back("http.base_url: must not carry a query");
  if (u.has_fragment()) problems.push_back("http.base_url: must not carry a fragment");
  out.host = std::string(u.host_address());
  if (out.host.empty()) problems.push_back("http.base_url: has no host");
  out.host_is_ip = u.host_type() == boost::urls::host_type::ipv4 ||
                   u.host_type() == boost::urls::host_type::ipv6;
  const bool default_port = !u.has_port() || u.port().empty();
  out.port = default_port ? (out.https ? "443" : "80") : std::string(u.port());
  out.host_header = std::string(u.encoded_host_and_port());
  out.base_path = std::string(u.encoded_path());
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return out;
}

bool has_ctl(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

/// A pooled connection: plain TCP or TLS over TCP.
struct Conn {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since{};

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  /// False when the peer has closed the connection (or sent unexpected bytes) while it
  /// sat idle: peeks at the socket without blocking.
  bool looks_alive() {
    auto& sock = tcp().socket();
    if (!sock.is_open()) return false;
    char byte = 0;
    const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    return false;  // 0: orderly close; >0: bytes nobody asked for (a close alert, garbage)
  }

  void close() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
  }
};

bool is_reset(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
         ec == asio::error::not_connected || ec == ssl::error::stream_truncated;
}

Failure failure(TransportError code, std::string message, bool sent) {
  return Failure{code, std::move(message), sent};
}

/// What one write+read on one connection produced.
struct Exchange {
  beast::error_code ec;
  bool got_response_bytes = false;
  bool keep_alive = false;
  Response response;
};

template <typename Stream>
asio::awaitable<Exchange> exchange(Stream& stream, Conn& conn,
                                   const bhttp::request<bhttp::string_body>& req,
                                   std::uint64_t body_limit) {
  Exchange out;
  auto [wec, wn] = co_await bhttp::async_write(stream, req, use_tuple);
  if (wec) {
    out.ec = wec;
    co_return out;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(body_limit);
  parser.header_limit(64 * 1024);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  auto [rec, rn] = co_await bhttp::async_read(stream, conn.buffer, parser, use_tuple);
  out.got_response_bytes = parser.got_some();
  if (rec) {
    out.ec = rec;
    co_return out;
  }
  auto msg = parser.release();
  out.keep_alive = msg.keep_alive() && !msg.need_eof();
  out.response.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    out.response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.response.body = std::move(msg.body());
  co_return out;
}

}  // namespace

std::vector<std::string> BeastTransportConfig::validate() const {
  std::vector<std::string> problems;
  if (base_url.empty()) {
    problems.push_back("http.base_url: must be set (e.g. https://ORG.crm.dynamics.com/api/data/v9.2)");
  } else {
    parse_base_url(base_url, problems);
  }
  if (max_connections < 1 || max_connections > 1024) {
    problems.push_back("http.max_connections: must be between 1 and 1024");
  }
  if (default_deadline.count() <= 0) problems.push_back("http.default_deadline: must be positive");
  if (idle_timeout.count() < 0) problems.push_back("http.idle_timeout: must not be negative");
  if (max_response_body_bytes < 1024) {
    problems.push_back("http.max_response_body_bytes: must be at least 1KiB");
  }
  if (has_ctl(user_agent)) problems.push_back("http.user_agent: must not contain line breaks");
  if (!tls_ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(tls_ca_file, ec)) {
      problems.push_back("http.tls_ca_file: no such file: " + tls_ca_file);
    }
  }
  return problems;
}

struct BeastTransport::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor executor;
  BeastTransportConfig config;
  ParsedUrl url;
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::vector<std::unique_ptr<Conn>> idle;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters;
  PoolStats stats;
  bool closed = false;

  Impl(asio::any_io_executor ex, BeastTransportConfig cfg) : executor(std::move(ex)), config(std::move(cfg)) {
    auto problems = config.validate();
    url = parse_base_url(config.base_url, problems);
    if (!problems.empty()) {
      std::string all = "invalid HTTP transport configuration:";
      for (const auto& p : problems) all += "\n  " + p;
      throw std::invalid_argument(all);
    }
    ssl_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (config.tls_verify_peer) {
      ssl_ctx.set_verify_mode(ssl::verify_peer);
      beast::error_code ec;
      if (!config.tls_ca_file.empty()) {
        ssl_ctx.load_verify_file(config.tls_ca_file, ec);
        if (ec) {
          throw std::invalid_argument("http.tls_ca_file: cannot load " + config.tls_ca_file + ": " +
                                      ec.message());
        }
      } else {
        ssl_ctx.set_default_verify_paths(ec);
        if (ec) throw std::invalid_argument("cannot load the system trust store: " + ec.message());
      }
    } else {
      ssl_ctx.set_verify_mode(ssl::verify_none);
      if (url.https) {
        ib::log::warn("TLS certificate verification is OFF for this transport: use only for tests",
                      {{"base_url", config.base_url}});
      }
    }
  }

  struct Slot {
    std::unique_ptr<Conn> conn;  ///< null with ok: open a new connection (a slot is held)
    bool ok = false;
    Failure failure;
  };

  /// Takes an idle connection or the right to open one, waiting until `deadline` when
  /// all `max_connections` are busy. `fresh_only` skips idle connections.
  asio::awaitable<Slot> acquire(SteadyClock::time_point deadline, bool fresh_only) {
    for (;;) {
      if (closed) co_return Slot{nullptr, false, failure(TransportError::shutdown, "transport closed", false)};
      const auto now = SteadyClock::now();
      while (!fresh_only && !idle.empty()) {
        auto conn = std::move(idle.back());
        idle.pop_back();
        if (now - conn->idle_since <= config.idle_timeout && conn->looks_alive()) {
          co_return Slot{std::move(conn), true, {}};
        }
        // Closed by the peer or idle too long: drop it, which frees its slot.
        conn->close();
        --stats.open;
      }
      if (stats.open < config.max_connections) {
        ++stats.open;
        co_return Slot{nullptr, true, {}};
      }
      if (fresh_only && !idle.empty()) {
        // A fresh connection is wanted and the pool is full: its slot comes from the
        // oldest idle connection.
        idle.front()->close();
        idle.erase(idle.begin());
        co_return Slot{nullptr, true, {}};  // the dropped connection's slot is reused
      }
      if (now >= deadline) {
        co_return Slot{nullptr, false,
                       failure(TransportError::timeout,
                               "deadline passed while waiting for a free connection (all " +
                                   std::to_string(config.max_connections) + " busy)",
                               false)};
      }
      auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
      waiters.push_back(timer);
      ++stats.waiting;
      auto [ec] = co_await timer->async_wait(use_tuple);
      --stats.waiting;
      (void)ec;  // expired (deadline, checked above on the next turn) or cancelled (a slot freed)
      std::erase(waiters, timer);
    }
  }

  /// Returns a connection (or just its slot when `conn` is null) to the pool.
  void release(std::unique_ptr<Conn> conn, bool reusable) {
    if (conn && reusable && !closed) {
      conn->idle_since = SteadyClock::now();
      idle.push_back(std::move(conn));
    } else {
      if (conn) conn->close();
      --stats.open;
    }
    // Wake the first waiter still waiting (one whose deadline already fired is skipped,
    // so the freed slot is never lost).
    while (!waiters.empty()) {
      auto timer = std::move(waiters.front());
      waiters.pop_front();
      if (timer->cancel() > 0) break;
    }
  }

  /// Opens a connection (TCP, then TLS for https) before `deadline`.
  asio::awaitable<std::pair<std::unique_ptr<Conn>, Failure>> connect(SteadyClock::time_point deadline) {
    // The resolver has no deadline of its own: it is bounded by the system resolver's timeouts.
    tcp::resolver resolver(executor);
    auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, use_tuple);
    if (rec) {
      co_return std::pair{nullptr, failure(TransportError::resolve_failed,
                                           "cannot resolve " + url.host + ": " + rec.message(), false)};
    }
    auto conn = std::make_unique<Conn>();
    if (url.https) {
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, ssl_ctx);
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(executor);
    }
    conn->tcp().expires_at(deadline);
    auto [cec, ep] = co_await conn->tcp().async_connect(endpoints, use_tuple);
    ++stats.connections_opened;
    if (cec) {
      const bool timed_out = cec == beast::error::timeout;
      co_return std::pair{nullptr,
                          failure(timed_out ? TransportError::timeout : TransportError::connect_failed,
                                  "connect to " + url.host + ":" + url.port + ": " + cec.message(), false)};
    }
    conn->tcp().socket().set_option(tcp::no_delay(true));
    if (!url.https) co_return std::pair{std::move(conn), Failure{}};

    auto* native = conn->tls->native_handle();
    // SNI carries host names only (RFC 6066), never IP literals.
    if (!url.host_is_ip && !SSL_set_tlsext_host_name(native, url.host.c_str())) {
      co_return std::pair{nullptr, failure(TransportError::tls_failed, "cannot set SNI host name", false)};
    }
    if (config.tls_verify_peer) {
      // OpenSSL's own name check (not a verify callback): a mismatch then has its own verify
      // result ("hostname mismatch", "IP address mismatch") for the error message.
      X509_VERIFY_PARAM* param = SSL_get0_param(native);
      const int set = url.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
                                     : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
      if (set != 1) {
        co_return std::pair{nullptr, failure(TransportError::tls_failed,
                                             "cannot set the host name to verify: " + url.host, false)};
      }
    }
    auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
      if (hec == beast::error::timeout) {
        co_return std::pair{nullptr, failure(TransportError::timeout, "TLS handshake timed out", false)};
      }
      const long verify = SSL_get_verify_result(native);
      if (config.tls_verify_peer && verify != X509_V_OK) {
        co_return std::pair{nullptr, failure(TransportError::tls_verify_failed,
                                             "TLS certificate verification failed for " + url.host + ":" +
                                                 url.port + ": " + X509_verify_cert_error_string(verify),
                                             false)};
      }
      co_return std::pair{nullptr, failure(TransportError::tls_failed,
                                           "TLS handshake with " + url.host + ": " + hec.message(), false)};
    }
    co_return std::pair{std::move(conn), Failure{}};
  }

  std::string full_target(const std::string& target) const {
    std::string_view t = target;
    while (!t.empty() && t.front() == '/') t.remove_prefix(1);
    std::string out = url.base_path;
    if (!t.empty() || out.empty()) out += '/';
    out += t;
    return out;
  }

  asio::awaitable<Result> send(std::shared_ptr<Impl> self, Request request) {
    (void)self;  // keeps the pool alive while this request runs
    const auto deadline_span = request.deadline.count() > 0 ? request.deadline : config.default_deadline;
    const auto deadline = SteadyClock::now() + deadline_span;

    const auto verb = bhttp::string_to_verb(request.method);
    if (verb == bhttp::verb::unknown) {
      co_return failure(TransportError::invalid_request, "unknown method '" + request.method + "'", false);
    }
    const std::string target = full_target(request.target);
    if (has_ctl(target) || target.find(' ') != std::string::npos) {
      co_return failure(TransportError::invalid_request, "target contains spaces or line breaks", false);
    }
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, url.host_header);
    req.set(bhttp::field::user_agent, config.user_agent);
    for (const auto& [name, value] : request.headers) {
      if (name.empty() || has_ctl(name) || has_ctl(value)) {
        co_return failure(TransportError::invalid_request, "header with an empty name or a line break", false);
      }
      // Repeated names stay repeated; the framing fields are the transport's own.
      const auto field = bhttp::string_to_field(name);
      if (field == bhttp::field::host || field == bhttp::field::content_length ||
          field == bhttp::field::transfer_encoding || field == bhttp::field::connection) {
        continue;
      }
      if (field == bhttp::field::user_agent) {
        req.set(field, value);
      } else {
        req.insert(name, value);
      }
    }
    req.keep_alive(true);
    req.body() = std::move(request.body);
    req.prepare_payload();

    bool resent = false;
    for (;;) {
      auto slot = co_await acquire(deadline, resent);
      if (!slot.ok) co_return slot.failure;
      const bool reused = slot.conn != nullptr;
      std::unique_ptr<Conn> conn = std::move(slot.conn);
      if (!conn) {
        auto [fresh, why] = co_await connect(deadline);
        if (!fresh) {
          release(nullptr, false);
          co_return why;
        }
        conn = std::move(fresh);
      }
      conn->tcp().expires_at(deadline);
      // (No co_await inside ?: — g++ 12 miscompiles it.)
      Exchange ex;
      if (conn->tls) {
        ex = co_await exchange(*conn->tls, *conn, req, config.max_response_body_bytes);
      } else {
        ex = co_await exchange(*conn->plain, *conn, req, config.max_response_body_bytes);
      }
      if (!ex.ec) {
        conn->tcp().expires_never();
        release(std::move(conn), ex.keep_alive);
        co_return std::move(ex.response);
      }
      release(std::move(conn), false);
      if (ex.ec == beast::error::timeout) {
        co_return failure(TransportError::timeout,
                          "no complete response within " + std::to_string(deadline_span.count()) + "ms",
                          true);
      }
      if (ex.ec == bhttp::error::body_limit) {
        co_return failure(TransportError::body_too_large,
                          "response body larger than " + std::to_string(config.max_response_body_bytes) +
                              " bytes",
                          true);
      }
      if (!is_reset(ex.ec)) {
        co_return failure(TransportError::protocol_error, "bad response: " + ex.ec.message(), true);
      }
      // The peer closed the connection. On a reused keep-alive connection before any
      // response byte, the server most likely closed it while idle and never processed
      // the request; still, only an idempotent request may be sent again.
      const bool stale = reused && !ex.got_response_bytes;
      if (stale && request.idempotent && !resent && SteadyClock::now() < deadline) {
        resent = true;
        ++stats.stale_resends;
        ib::log::debug("HTTP keep-alive connection was stale; resending idempotent request once",
                       {{"method", request.method}, {"target", target}});
        continue;
      }
      std::string message = "connection closed before a complete response (" + ex.ec.message() + ")";
      if (!request.idempotent) message += "; not resent: the request's outcome is unknown";
      co_return failure(TransportError::connection_reset, std::move(message), true);
    }
  }

  void close() {
    if (closed) return;
    closed = true;
    for (auto& conn : idle) {
      conn->close();
      --stats.open;
    }
    idle.clear();
    for (auto& w : waiters) w->cancel();
    waiters.clear();
  }
};

BeastTransport::BeastTransport(asio::any_io_executor executor, BeastTransportConfig config)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(config))) {}

BeastTransport::~BeastTransport() { impl_->close(); }

asio::awaitable<Result> BeastTransport::send(Request request) {
  return impl_->send(impl_, std::move(request));
}

void BeastTransport::close() { impl_->close(); }

PoolStats BeastTransport::stats() const {
  PoolStats s = impl_->stats;
  s.idle = impl_->idle.size();
  return s;
}

const BeastTransportConfig& BeastTransport::config() const { return impl_->config; }

}  // namespace ib::http
