#include "fake_transport.hpp"
#include "http/auth.hpp"
#include "http/authorized_transport.hpp"
#include "http/oauth_token_provider.hpp"
#include "http/token_provider.hpp"
#include "testing/run_coro.hpp"
#include "testing/temp_dir.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/value.hpp>

#include <fstream>
#include <limits>
#include <sstream>

using namespace std::chrono_literals;
using namespace ib::http;
using ib::http::testing::FakeTransport;

namespace {

constexpr const char* kSecret = "s3cr3t+/=&value";

OAuthConfig oauth_config() {
  OAuthConfig c;
  c.token_url = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token";
  c.client_id = "client-1";
  c.scope = "https://org.crm.dynamics.com/.default";
  c.client_secret_env = "IB_TEST_SECRET";
  c.refresh_margin = 5min;
  return c;
}

std::string token_body(const std::string& token, int expires_in) {
  return R"({"token_type":"Bearer","expires_in":)" + std::to_string(expires_in) +
         R"(,"ext_expires_in":3599,"access_token":")" + token + R"("})";
}

/// Captures everything logged through spdlog's default logger while alive.
struct LogCapture {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  std::string text() const { return out.str(); }
};

std::string get_token(TokenProvider& p) {
  auto r = ib::testing::run_coro([&](auto&) { return p.token(); });
  if (!r) FAIL("no token: " << to_string(r.error()));
  return *r;
}

}  // namespace

TEST_CASE("http_oauth: requests a client-credentials token in the Entra ID shape") {
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, token_body("tok-1", 3599));
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "tok-1");
  REQUIRE(fake->requests.size() == 1);
  const auto& req = fake->requests[0];
  CHECK(req.method == "POST");
  CHECK(req.target.empty());
  CHECK(req.idempotent);
  CHECK(find_header(req.headers, "content-type") == std::optional<std::string_view>("application/x-www-form-urlencoded"));
  CHECK(req.body ==
        "grant_type=client_credentials&client_id=client-1&client_secret=s3cr3t%2B%2F%3D%26value"
        "&scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default");
}

TEST_CASE("http_oauth: the token is cached and refreshed refresh_margin before expiry") {
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, token_body("tok-1", 3600));
  fake->push_status(200, token_body("tok-2", 3600));
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "tok-1");
  clock.advance(3600s - 5min - 1s);  // just inside the margin's edge
  CHECK(get_token(provider) == "tok-1");
  CHECK(provider.token_requests() == 1);
  clock.advance(2s);  // now within 5 minutes of expiry
  CHECK(get_token(provider) == "tok-2");
  CHECK(provider.token_requests() == 2);
}

TEST_CASE("http_oauth: a short-lived token uses at most half its lifetime as margin") {
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, token_body("short", 60));
  fake->push_status(200, token_body("next", 60));
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "short");
  clock.advance(29s);
  CHECK(get_token(provider) == "short");
  clock.advance(2s);
  CHECK(get_token(provider) == "next");
}

TEST_CASE("http_oauth: many concurrent callers share one token request") {
  auto fake = std::make_shared<FakeTransport>();
  fake->yields = 3;  // the request stays in flight while the other callers arrive
  fake->push_status(200, token_body("shared", 3600));
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  boost::asio::io_context ctx;
  std::vector<std::string> tokens;
  for (int i = 0; i < 10; ++i) {
    boost::asio::co_spawn(ctx, provider.token(), [&](std::exception_ptr e, TokenResult r) {
      REQUIRE_FALSE(e);
      REQUIRE(r);
      tokens.push_back(*r);
    });
  }
  ctx.run_for(10s);
  CHECK(tokens == std::vector<std::string>(10, "shared"));
  CHECK(fake->requests.size() == 1);
}

TEST_CASE("http_oauth: concurrent callers all see a failed refresh, and the next call tries again") {
  auto fake = std::make_shared<FakeTransport>();
  fake->yields = 2;
  fake->push_status(503, "busy");
  fake->push_status(200, token_body("later", 3600));
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  boost::asio::io_context ctx;
  int failures = 0;
  for (int i = 0; i < 4; ++i) {
    boost::asio::co_spawn(ctx, provider.token(), [&](std::exception_ptr e, TokenResult r) {
      REQUIRE_FALSE(e);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == TransportError::auth_unavailable);
      CHECK_FALSE(r.error().request_sent);
      ++failures;
    });
  }
  ctx.run_for(10s);
  CHECK(failures == 4);
  CHECK(fake->requests.size() == 1);
  CHECK(get_token(provider) == "later");
}

TEST_CASE("http_oauth: a failed refresh keeps using the still-valid token") {
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, token_body("tok-1", 3600));
  fake->push_failure(TransportError::timeout);
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "tok-1");
  clock.advance(3600s - 1min);  // inside the margin, not expired
  CHECK(get_token(provider) == "tok-1");
  CHECK(provider.token_requests() == 2);
}

TEST_CASE("http_oauth: invalidate forces one refresh, but only for the rejected token") {
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, token_body("tok-1", 3600));
  fake->push_status(200, token_body("tok-2", 3600));
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "tok-1");
  provider.invalidate("tok-1");
  CHECK(get_token(provider) == "tok-2");
  provider.invalidate("tok-1");  // a late 401 for the old token: already replaced
  CHECK(get_token(provider) == "tok-2");
  CHECK(provider.token_requests() == 2);
}

TEST_CASE("http_oauth: error answers are classified") {
  struct Row {
    Result answer;
    TransportError expected;
  };
  std::vector<Row> rows;
  rows.push_back({Response{400, {}, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})"},
                  TransportError::auth_rejected});
  rows.push_back({Response{401, {}, "{}"}, TransportError::auth_rejected});
  rows.push_back({Response{429, {}, ""}, TransportError::auth_unavailable});
  rows.push_back({Response{500, {}, ""}, TransportError::auth_unavailable});
  rows.push_back({Response{200, {}, "not json"}, TransportError::auth_rejected});
  rows.push_back({Response{200, {}, R"({"access_token":"x","token_type":"mac","expires_in":10})"},
                  TransportError::auth_rejected});
  rows.push_back({Response{200, {}, R"({"access_token":"x","expires_in":0})"}, TransportError::auth_rejected});
  rows.push_back({Failure{TransportError::connect_failed, "refused", false}, TransportError::auth_unavailable});
  rows.push_back({Failure{TransportError::tls_failed, "handshake", false}, TransportError::auth_rejected});
  rows.push_back({Failure{TransportError::tls_verify_failed, "self-signed certificate", false},
                  TransportError::tls_verify_failed});
  for (auto& row : rows) {
    auto fake = std::make_shared<FakeTransport>();
    fake->push(row.answer);
    ib::core::ManualClock clock;
    OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
    auto r = ib::testing::run_coro([&](auto&) { return provider.token(); });
    REQUIRE_FALSE(r);
    INFO(to_string(r.error()));
    CHECK(r.error().code == row.expected);
  }
}

TEST_CASE("http_oauth: expires_in as a string is accepted (Entra v1 shape)") {
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, R"({"token_type":"Bearer","expires_in":"3599","access_token":"v1"})");
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "v1");
}

TEST_CASE("http_oauth: token lifetimes are validated and clamped: token requests across 50 batches") {
  // One batch every 30 minutes for 24.5 hours, refresh_margin 5 minutes. Every token
  // request gets the same answer; the row says how many requests the 50 batches cost and
  // how many batches got a token.
  struct Row {
    const char* expires_in;  // JSON text of the field; nullptr: no expires_in field
    int requests;
    int tokens;
  };
  const Row rows[] = {
      {"3600", 25, 50},                       // refreshed at 55 min: every other batch
      {"\"3600\"", 25, 50},                 // Entra v1 string
      {nullptr, 25, 50},                      // missing: kDefaultTokenLifetime (1 h)
      {"null", 25, 50},
      {"86400", 2, 50},                       // 24 h: refreshed at 23:55 once
      {"86401", 2, 50},                       // clamped to 24 h
      {"9223372036854775807", 2, 50},         // int64 max: clamped, no overflow
      {"18446744073709551615", 2, 50},        // uint64 max
      {"\"99999999999999999999999999\"", 2, 50},  // beyond any integer type
      {"1", 50, 50},                          // valid but 1 s: one request per batch
      {"0", 50, 0},                           // refused, every batch asks again
      {"-5", 50, 0},
      {"-9223372036854775807", 50, 0},
      {"3600.5", 50, 0},
      {"1e300", 50, 0},
      {"true", 50, 0},
      {"\"\"", 50, 0},
      {"\"abc\"", 50, 0},
      {"\"-3600\"", 50, 0},
      {"\"+3600\"", 50, 0},
      {"\" 3600\"", 50, 0},
      {"\"3600s\"", 50, 0},
      {"\"0\"", 50, 0},
      {"{}", 50, 0},
  };
  for (const auto& row : rows) {
    INFO("expires_in " << (row.expires_in ? row.expires_in : "<missing>"));
    std::string body = R"({"token_type":"Bearer","access_token":"tok")";
    if (row.expires_in) body += std::string(R"(,"expires_in":)") + row.expires_in;
    body += "}";
    auto fake = std::make_shared<FakeTransport>();
    for (int i = 0; i < 50; ++i) fake->push_status(200, body);
    ib::core::ManualClock clock;
    OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
    int tokens = 0;
    for (int batch = 0; batch < 50; ++batch) {
      auto r = ib::testing::run_coro([&](auto&) { return provider.token(); });
      if (r) {
        ++tokens;
      } else {
        CHECK(r.error().code == TransportError::auth_rejected);
        CHECK_THAT(r.error().message, Catch::Contains("expires_in"));
      }
      clock.advance(30min);
    }
    CHECK(provider.token_requests() == static_cast<std::uint64_t>(row.requests));
    CHECK(tokens == row.tokens);
  }
}

TEST_CASE("http_oauth: token_lifetime") {
  CHECK(token_lifetime(nullptr) == kDefaultTokenLifetime);
  const boost::json::value huge = std::numeric_limits<std::int64_t>::max();
  CHECK(token_lifetime(&huge) == kMaxTokenLifetime);
  const boost::json::value v1 = "3599";
  CHECK(token_lifetime(&v1) == std::chrono::seconds(3599));
  const boost::json::value zero = 0;
  CHECK_FALSE(token_lifetime(&zero));
}

TEST_CASE("http_oauth: the secret comes from the named environment variable or file") {
  auto c = oauth_config();
  CHECK(load_client_secret(c, {{"IB_TEST_SECRET", "from-env\n"}}) == "from-env");
  CHECK_THROWS_WITH(load_client_secret(c, {}), Catch::Contains("IB_TEST_SECRET") && !Catch::Contains(kSecret));
  CHECK_THROWS(load_client_secret(c, {{"IB_TEST_SECRET", "  \n"}}));

  ib::testing::TempDir dir;
  const auto file = dir.path() / "secret";
  std::ofstream(file) << "from-file\n";
  c.client_secret_env.clear();
  c.client_secret_file = file.string();
  CHECK(load_client_secret(c, {{"IB_TEST_SECRET", "ignored"}}) == "from-file");
  c.client_secret_file = (dir.path() / "missing").string();
  CHECK_THROWS_WITH(load_client_secret(c, {}), Catch::Contains("missing"));
}

TEST_CASE("http_oauth: validate and the redacting to_string") {
  OAuthConfig empty;
  const auto problems = empty.validate();
  CHECK(problems.size() == 4);  // token_url, client_id, scope, secret source
  auto both = oauth_config();
  both.client_secret_file = "/run/secrets/x";
  CHECK(both.validate().size() == 1);
  CHECK(oauth_config().validate().empty());

  const auto text = to_string(oauth_config());
  CHECK_THAT(text, Catch::Contains("client_id=client-1") && Catch::Contains("from env IB_TEST_SECRET"));
  CHECK_THAT(text, !Catch::Contains(kSecret));
}

TEST_CASE("http_oauth: neither the secret nor the token ever reaches the log") {
  LogCapture capture;
  auto fake = std::make_shared<FakeTransport>();
  fake->push_status(200, token_body("tok-very-private", 3600));
  fake->push_status(400, R"({"error":"invalid_client","error_description":"AADSTS7000215"})");
  fake->push_failure(TransportError::connection_reset, "reset");
  ib::core::ManualClock clock;
  OAuthTokenProvider provider(fake, oauth_config(), kSecret, clock);
  CHECK(get_token(provider) == "tok-very-private");
  provider.invalidate("");
  auto r1 = ib::testing::run_coro([&](auto&) { return provider.token(); });
  CHECK_FALSE(r1);
  auto r2 = ib::testing::run_coro([&](auto&) { return provider.token(); });
  CHECK_FALSE(r2);
  CHECK_THAT(to_string(r1.error()) + to_string(r2.error()), !Catch::Contains(kSecret));
  const auto logged = capture.text();
  CHECK_THAT(logged, Catch::Contains("OAuth2"));  // it did log
  CHECK_THAT(logged, !Catch::Contains(kSecret));
  CHECK_THAT(logged, !Catch::Contains("tok-very-private"));
}

TEST_CASE("http_auth: AuthorizedTransport adds the bearer token") {
  auto inner = std::make_shared<FakeTransport>();
  inner->push_status(204);
  AuthorizedTransport t(inner, std::make_shared<StaticTokenProvider>("abc"));
  Request req;
  req.headers = {{"authorization", "stale"}, {"Accept", "application/json"}};
  auto r = ib::testing::run_coro([&](auto&) { return t.send(req); });
  REQUIRE(r);
  CHECK(r->status == 204);
  REQUIRE(inner->requests.size() == 1);
  CHECK(find_header(inner->requests[0].headers, "Authorization") == std::optional<std::string_view>("Bearer abc"));
  CHECK(inner->requests[0].headers.size() == 2);
}

TEST_CASE("http_auth: no-auth sends no Authorization header and does not retry a 401") {
  auto inner = std::make_shared<FakeTransport>();
  inner->push_status(401);
  AuthorizedTransport t(inner, std::make_shared<NoAuthProvider>());
  auto r = ib::testing::run_coro([&](auto&) { return t.send(Request{}); });
  REQUIRE(r);
  CHECK(r->status == 401);
  REQUIRE(inner->requests.size() == 1);
  CHECK_FALSE(find_header(inner->requests[0].headers, "Authorization"));
}

TEST_CASE("http_auth: a 401 refreshes the token and resends the request once") {
  auto token_fake = std::make_shared<FakeTransport>();
  token_fake->push_status(200, token_body("old", 3600));
  token_fake->push_status(200, token_body("new", 3600));
  ib::core::ManualClock clock;
  auto provider = std::make_shared<OAuthTokenProvider>(token_fake, oauth_config(), kSecret, clock);
  auto inner = std::make_shared<FakeTransport>();
  inner->push_status(401, R"({"error":{"code":"0x80040220"}})");
  inner->push_status(200, "batch answer");
  AuthorizedTransport t(inner, provider);
  Request req;
  req.method = "POST";
  req.target = "$batch";
  req.body = "payload";
  req.idempotent = false;
  auto r = ib::testing::run_coro([&](auto&) { return t.send(req); });
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "batch answer");
  REQUIRE(inner->requests.size() == 2);
  CHECK(find_header(inner->requests[0].headers, "authorization") == std::optional<std::string_view>("Bearer old"));
  CHECK(find_header(inner->requests[1].headers, "authorization") == std::optional<std::string_view>("Bearer new"));
  CHECK(inner->requests[1].body == "payload");
  CHECK(provider->token_requests() == 2);
}

TEST_CASE("http_auth: a second 401 is returned to the caller") {
  auto token_fake = std::make_shared<FakeTransport>();
  token_fake->push_status(200, token_body("old", 3600));
  token_fake->push_status(200, token_body("new", 3600));
  ib::core::ManualClock clock;
  auto provider = std::make_shared<OAuthTokenProvider>(token_fake, oauth_config(), kSecret, clock);
  auto inner = std::make_shared<FakeTransport>();
  inner->push_status(401);
  inner->push_status(401, "still no");
  AuthorizedTransport t(inner, provider);
  auto r = ib::testing::run_coro([&](auto&) { return t.send(Request{}); });
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->body == "still no");
  CHECK(inner->requests.size() == 2);
  CHECK(provider->token_requests() == 2);
}

TEST_CASE("http_auth: no token means the request is not sent") {
  auto token_fake = std::make_shared<FakeTransport>();
  token_fake->push_status(400, R"({"error":"unauthorized_client"})");
  ib::core::ManualClock clock;
  auto provider = std::make_shared<OAuthTokenProvider>(token_fake, oauth_config(), kSecret, clock);
  auto inner = std::make_shared<FakeTransport>();
  AuthorizedTransport t(inner, provider);
  auto r = ib::testing::run_coro([&](auto&) { return t.send(Request{}); });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == TransportError::auth_rejected);
  CHECK_FALSE(r.error().request_sent);
  CHECK_THAT(r.error().message, Catch::Contains("unauthorized_client"));
  CHECK(inner->requests.empty());
}

TEST_CASE("http_auth: make_token_provider builds the provider the mode names") {
  boost::asio::io_context ctx;
  ib::core::ManualClock clock;
  BeastTransportConfig http;
  http.base_url = "https://org.crm.dynamics.com/api/data/v9.2";

  AuthConfig none;
  none.mode = AuthMode::none;
  auto p = make_token_provider(ctx.get_executor(), none, http, clock, {});
  CHECK(get_token(*p).empty());

  AuthConfig fixed;
  fixed.mode = AuthMode::static_token;
  CHECK_FALSE(fixed.validate().empty());
  fixed.static_token_env = "IB_TOKEN";
  CHECK_THROWS_WITH(make_token_provider(ctx.get_executor(), fixed, http, clock, {}), Catch::Contains("IB_TOKEN"));
  p = make_token_provider(ctx.get_executor(), fixed, http, clock, {{"IB_TOKEN", "fixed-token"}});
  CHECK(get_token(*p) == "fixed-token");
  // Or from a file (a mounted secret), trailing newline dropped; not both.
  ib::testing::TempDir dir;
  const auto token_file = dir.path() / "token";
  std::ofstream(token_file) << "file-token\n";
  fixed.static_token_file = token_file.string();
  CHECK_FALSE(fixed.validate().empty());
  fixed.static_token_env.clear();
  p = make_token_provider(ctx.get_executor(), fixed, http, clock, {});
  CHECK(get_token(*p) == "file-token");
  fixed.static_token_file = (dir.path() / "missing").string();
  CHECK_THROWS_WITH(make_token_provider(ctx.get_executor(), fixed, http, clock, {}), Catch::Contains("missing"));

  AuthConfig cc;  // client_credentials is the default mode
  CHECK(cc.mode == AuthMode::client_credentials);
  CHECK(cc.validate().size() == 4);
  cc.oauth = oauth_config();
  CHECK_THROWS_WITH(make_token_provider(ctx.get_executor(), cc, http, clock, {}), Catch::Contains("IB_TEST_SECRET"));
  p = make_token_provider(ctx.get_executor(), cc, http, clock, {{"IB_TEST_SECRET", kSecret}});
  CHECK(dynamic_cast<OAuthTokenProvider*>(p.get()) != nullptr);

  CHECK(parse_auth_mode("static_token") == AuthMode::static_token);
  CHECK_FALSE(parse_auth_mode("basic"));
  CHECK(auth_mode_names().size() == 3);
}
