#include "http/authorized_transport.hpp"
#include "http/beast_transport.hpp"
#include "http/oauth_token_provider.hpp"
#include "test_server.hpp"
#include "testing/free_port.hpp"
#include "testing/temp_dir.hpp"

#include "core/clock.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;
using namespace ib::http;
using ib::http::testing::Reply;
using ib::http::testing::SeenRequest;
using ib::http::testing::TestServer;

namespace {

/// A client side for one test: its own io_context (run on the test thread) and one
/// transport whose pool lives across calls.
class Client {
public:
  explicit Client(BeastTransportConfig config)
      : transport(std::make_shared<BeastTransport>(ctx.get_executor(), std::move(config))) {}
  explicit Client(std::shared_ptr<Transport> t) : transport(std::move(t)) {}

  Result send(Request request) { return send_all({std::move(request)}).at(0); }

  /// Sends all requests at once (concurrently) and returns their results in order.
  std::vector<Result> send_all(std::vector<Request> requests) {
    std::vector<std::optional<Result>> results(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      boost::asio::co_spawn(ctx, transport->send(std::move(requests[i])),
                            [&results, i](std::exception_ptr e, Result r) {
                              if (e) std::rethrow_exception(e);
                              results[i].emplace(std::move(r));
                            });
    }
    ctx.restart();
    ctx.run_for(60s);
    std::vector<Result> out;
    for (auto& r : results) {
      if (!r) throw std::runtime_error("request did not finish in time");
      out.push_back(std::move(*r));
    }
    return out;
  }

  boost::asio::io_context ctx;
  std::shared_ptr<Transport> transport;
};

BeastTransportConfig config_for(const std::string& url) {
  BeastTransportConfig c;
  c.base_url = url;
  c.default_deadline = 10s;
  return c;
}

Request get(std::string target = "/", bool idempotent = true) {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  r.idempotent = idempotent;
  return r;
}

Request post(std::string body) {
  Request r;
  r.method = "POST";
  r.target = "$batch";
  r.headers = {{"Content-Type", "multipart/mixed; boundary=batch_1"}};
  r.body = std::move(body);
  r.idempotent = false;
  return r;
}

Reply echo(const SeenRequest& s) {
  Reply r;
  r.body = s.method + " " + s.target + " " + s.body;
  r.headers = {{"OData-Version", "4.0"}};
  return r;
}

/// Waits (bounded) until the server has closed every connection it had open.
void wait_until_server_closed(const TestServer& server) {
  for (int i = 0; i < 500 && server.open_connections() > 0; ++i) std::this_thread::sleep_for(2ms);
  REQUIRE(server.open_connections() == 0);
}

}  // namespace

TEST_CASE("http_transport: keep-alive reuses one connection for several requests") {
  TestServer server(echo);
  Client client(config_for(server.url() + "/api/data/v9.2/"));
  for (int i = 0; i < 5; ++i) {
    auto r = client.send(get("accounts?$top=" + std::to_string(i)));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "GET /api/data/v9.2/accounts?$top=" + std::to_string(i) + " ");
    CHECK(r->header("odata-version") == std::optional<std::string_view>("4.0"));
  }
  CHECK(server.connections_accepted() == 1);
  CHECK(server.count("GET") == 5);
  const auto seen = server.seen();
  CHECK(find_header(seen[0].headers, "Host") == std::optional<std::string_view>("127.0.0.1:" + std::to_string(server.port())));
  CHECK(find_header(seen[0].headers, "User-Agent") == std::optional<std::string_view>("invoice-bridge"));
  auto stats = std::static_pointer_cast<BeastTransport>(client.transport)->stats();
  CHECK(stats.connections_opened == 1);
  CHECK(stats.idle == 1);
}

TEST_CASE("http_transport: a POST body and headers arrive intact; the status is returned as is") {
  TestServer server([](const SeenRequest& s) {
    Reply r;
    r.status = s.body == "payload" ? 400 : 500;
    r.body = R"({"error":{"code":"0x80044331"}})";
    return r;
  });
  Client client(config_for(server.url() + "/api/data/v9.2"));
  Request request = post("payload");
  request.headers.emplace_back("Prefer", "odata.continue-on-error");
  request.headers.emplace_back("Prefer", "return=representation");
  request.headers.emplace_back("Content-Length", "999");  // framing is the transport's business
  auto r = client.send(request);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body == R"({"error":{"code":"0x80044331"}})");
  const auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/api/data/v9.2/$batch");
  CHECK(find_header(seen[0].headers, "content-type") == std::optional<std::string_view>("multipart/mixed; boundary=batch_1"));
  CHECK(find_header(seen[0].headers, "content-length") == std::optional<std::string_view>("7"));
  int prefers = 0;
  for (const auto& [name, value] : seen[0].headers) prefers += name == "Prefer" ? 1 : 0;
  CHECK(prefers == 2);
  CHECK(seen[0].body == "payload");
}

TEST_CASE("http_transport: the pool never opens more than max_connections") {
  TestServer server([](const SeenRequest& s) {
    Reply r = echo(s);
    r.delay = 30ms;  // keeps connections busy so that callers overlap
    return r;
  });
  auto config = config_for(server.url());
  config.max_connections = 2;
  Client client(config);
  std::vector<Request> requests;
  for (int i = 0; i < 8; ++i) requests.push_back(get("/r" + std::to_string(i)));
  const auto results = client.send_all(requests);
  for (const auto& r : results) {
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(server.count("GET") == 8);
  CHECK(server.max_concurrent_connections() == 2);
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("http_transport: a response slower than the deadline is a timeout") {
  TestServer server([](const SeenRequest& s) {
    Reply r = echo(s);
    if (s.target == "/slow") r.delay = 3s;
    return r;
  });
  Client client(config_for(server.url()));
  Request slow = get("/slow");
  slow.deadline = 200ms;
  auto r = client.send(slow);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::timeout);
  CHECK(r.error().request_sent);
  CHECK(server.count("GET") == 1);  // a timeout is never resent, even for a GET
  auto ok = client.send(get("/fast"));  // the timed-out connection is not reused
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("http_transport: waiting for a busy pool counts against the deadline") {
  TestServer server([](const SeenRequest& s) {
    Reply r = echo(s);
    if (s.target == "/busy") r.delay = 1500ms;
    return r;
  });
  auto config = config_for(server.url());
  config.max_connections = 1;
  Client client(config);
  Request busy = get("/busy");
  Request waiting = get("/waiting");
  waiting.deadline = 100ms;
  const auto results = client.send_all({busy, waiting});
  REQUIRE(results[0]);
  CHECK(results[0]->status == 200);
  REQUIRE_FALSE(results[1]);
  CHECK(results[1].error().code == TransportError::timeout);
  CHECK_FALSE(results[1].error().request_sent);  // it never left the pool queue
  CHECK(server.count("GET") == 1);
}

TEST_CASE("http_transport: a connection closed before the answer fails the POST, which is not resent") {
  TestServer server([](const SeenRequest& s) {
    Reply r = echo(s);
    r.close_without_answer = s.method == "POST";
    return r;
  });
  Client client(config_for(server.url()));
  auto r = client.send(post("batch-1"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::connection_reset);
  CHECK(is_transient(r.error().code));
  CHECK(r.error().request_sent);
  CHECK(server.count("POST") == 1);
}

TEST_CASE("http_transport: a GET on a fresh connection closed before the answer is not resent") {
  TestServer server([](const SeenRequest&) {
    Reply r;
    r.close_without_answer = true;
    return r;
  });
  Client client(config_for(server.url()));
  auto r = client.send(get("/x"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::connection_reset);
  CHECK(server.count("GET") == 1);
}

TEST_CASE("http_transport: an idempotent GET on a stale keep-alive connection is resent once") {
  // The second request of every connection finds it dropped by the server.
  TestServer server([](const SeenRequest& s) {
    Reply r = echo(s);
    r.close_without_answer = s.index_on_connection == 2;
    return r;
  });
  Client client(config_for(server.url()));
  REQUIRE(client.send(get("/first")));
  auto r = client.send(get("/second"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "GET /second ");
  CHECK(server.count("GET") == 3);  // first, second on the stale connection, second again
  CHECK(server.connections_accepted() == 2);
  CHECK(std::static_pointer_cast<BeastTransport>(client.transport)->stats().stale_resends == 1);
}

TEST_CASE("http_transport: a GET is resent at most once") {
  // Every request after the first of a connection is dropped; the resend goes to a fresh
  // connection (index 1) and succeeds; a server that drops everything fails the GET.
  std::atomic<bool> drop_all{false};
  TestServer server([&](const SeenRequest& s) {
    Reply r = echo(s);
    r.close_without_answer = drop_all || s.index_on_connection >= 2;
    return r;
  });
  Client client(config_for(server.url()));
  REQUIRE(client.send(get("/warm")));
  drop_all = true;
  auto r = client.send(get("/doomed"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::connection_reset);
  CHECK(server.count("GET") == 3);  // warm, doomed on the stale connection, doomed once more
}

TEST_CASE("http_transport: a POST on a stale keep-alive connection is never resent") {
  TestServer server([](const SeenRequest& s) {
    Reply r = echo(s);
    r.close_without_answer = s.index_on_connection == 2;
    return r;
  });
  Client client(config_for(server.url()));
  REQUIRE(client.send(get("/first")));
  auto r = client.send(post("batch-1"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::connection_reset);
  CHECK(r.error().request_sent);
  CHECK_THAT(r.error().message, Catch::Contains("not resent"));
  CHECK(server.count("POST") == 1);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("http_transport: a pooled connection the server closed while idle is not used") {
  TestServer server(echo);
  server.close_after(1);  // close every connection silently after its first answer
  Client client(config_for(server.url()));
  for (int i = 0; i < 3; ++i) {
    auto r = client.send(post("batch-" + std::to_string(i)));
    REQUIRE(r);
    CHECK(r->status == 200);
    wait_until_server_closed(server);
  }
  CHECK(server.count("POST") == 3);
  CHECK(server.connections_accepted() == 3);
  CHECK(std::static_pointer_cast<BeastTransport>(client.transport)->stats().stale_resends == 0);
}

TEST_CASE("http_transport: a response body over the limit fails") {
  TestServer server([](const SeenRequest&) {
    Reply r;
    r.body = std::string(10'000, 'x');
    return r;
  });
  auto config = config_for(server.url());
  config.max_response_body_bytes = 4096;
  Client client(config);
  auto r = client.send(get("/big"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::body_too_large);
}

TEST_CASE("http_transport: nothing listening is connect_failed, and the request was not sent") {
  Client client(config_for("http://127.0.0.1:" + std::to_string(ib::testing::free_port())));
  auto r = client.send(post("batch"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::connect_failed);
  CHECK_FALSE(r.error().request_sent);
}

TEST_CASE("http_transport: an invalid method is refused without sending") {
  TestServer server(echo);
  Client client(config_for(server.url()));
  Request bad = get("/x");
  bad.method = "FROB NICATE";
  auto r = client.send(bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::invalid_request);
  CHECK(server.seen().empty());
}

TEST_CASE("http_tls: verification with the CA file, SNI, wrong CA, wrong host, verification off") {
  ib::testing::TempDir dir("ib-http-tls");
  const auto pki = ib::http::testing::make_test_pki(dir.path());
  TestServer server(echo, pki);

  SECTION("the right CA and host name: success over one kept-alive connection, SNI sent") {
    auto config = config_for(server.url("localhost") + "/api");
    config.tls_ca_file = pki.ca_cert.string();
    Client client(config);
    for (int i = 0; i < 3; ++i) {
      auto r = client.send(get("/accounts"));
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == "GET /api/accounts ");
    }
    CHECK(server.connections_accepted() == 1);
    const auto seen = server.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].sni == "localhost");
  }
  SECTION("a CA that did not sign the server certificate: tls_verify_failed naming reason and host, one connect") {
    auto config = config_for(server.url("localhost"));
    config.tls_ca_file = pki.other_ca.string();
    Client client(config);
    auto r = client.send(post("batch"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == TransportError::tls_verify_failed);
    CHECK_FALSE(r.error().request_sent);
    CHECK(r.error().message == "TLS certificate verification failed for localhost:" +
                                   std::to_string(server.port()) + ": unable to get local issuer certificate");
    CHECK(server.connections_accepted() == 1);
    CHECK(server.seen().empty());
  }
  SECTION("a host name the certificate does not name: tls_verify_failed, IP address mismatch") {
    auto config = config_for(server.url("127.0.0.1"));  // the certificate names only localhost
    config.tls_ca_file = pki.ca_cert.string();
    Client client(config);
    auto r = client.send(get("/x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == TransportError::tls_verify_failed);
    CHECK(r.error().message == "TLS certificate verification failed for 127.0.0.1:" +
                                   std::to_string(server.port()) + ": IP address mismatch");
    CHECK(server.seen().empty());
  }
  SECTION("the system trust store does not know the test CA") {
    Client client(config_for(server.url("localhost")));
    auto r = client.send(get("/x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == TransportError::tls_verify_failed);
  }
  SECTION("verification explicitly off: success despite the unknown CA and host") {
    auto config = config_for(server.url("127.0.0.1"));
    config.tls_verify_peer = false;
    config.tls_ca_file = pki.other_ca.string();
    Client client(config);
    auto r = client.send(get("/x"));
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("http_oauth: token endpoint round trip, bearer header and one refresh after a 401") {
  std::atomic<int> issued{0};
  TestServer server([&](const SeenRequest& s) {
    Reply r;
    if (s.target == "/tenant-1/oauth2/v2.0/token") {
      const bool form_ok = s.method == "POST" &&
                           s.body.find("grant_type=client_credentials") != std::string::npos &&
                           s.body.find("client_secret=the-secret") != std::string::npos &&
                           s.body.find("scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default") != std::string::npos;
      if (!form_ok) {
        r.status = 400;
        r.body = R"({"error":"invalid_request"})";
        return r;
      }
      r.headers = {{"Content-Type", "application/json"}};
      r.body = R"({"token_type":"Bearer","expires_in":3599,"access_token":"tok-)" +
               std::to_string(++issued) + R"("})";
      return r;
    }
    // The API accepts only the second token: the first one draws a 401.
    const auto auth = find_header(s.headers, "authorization");
    if (auth != std::optional<std::string_view>("Bearer tok-2")) {
      r.status = 401;
      r.body = "expired";
      return r;
    }
    r.status = 204;
    r.body.clear();
    return r;
  });

  OAuthConfig oauth;
  oauth.token_url = server.url() + "/tenant-1/oauth2/v2.0/token";
  oauth.client_id = "client-1";
  oauth.scope = "https://org.crm.dynamics.com/.default";
  oauth.client_secret_env = "IB_SECRET";
  const auto secret = load_client_secret(oauth, {{"IB_SECRET", "the-secret"}});

  boost::asio::io_context ctx;
  auto token_transport = std::make_shared<BeastTransport>(ctx.get_executor(), config_for(oauth.token_url));
  auto api_transport = std::make_shared<BeastTransport>(ctx.get_executor(), config_for(server.url() + "/api/data/v9.2"));
  ib::core::ManualClock clock;
  auto provider = std::make_shared<OAuthTokenProvider>(token_transport, oauth, secret, clock);
  auto authorized = std::make_shared<AuthorizedTransport>(api_transport, provider);

  std::optional<Result> result;
  boost::asio::co_spawn(ctx, authorized->send(post("batch")), [&](std::exception_ptr e, Result r) {
    if (e) std::rethrow_exception(e);
    result.emplace(std::move(r));
  });
  ctx.run_for(30s);
  REQUIRE(result);
  REQUIRE(*result);
  CHECK((*result)->status == 204);
  CHECK(issued == 2);
  CHECK(provider->token_requests() == 2);
  CHECK(server.count("POST") == 4);  // token, batch (401), token, batch (204)
}
