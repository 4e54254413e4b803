#include "http/oauth_token_provider.hpp"

#include "core/text.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace ib::http {

namespace asio = boost::asio;

namespace {

std::string form_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string trim_right(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

std::string shorten(std::string_view s, std::size_t max = 300) {
  return std::string(s.substr(0, max)) + (s.size() > max ? "..." : "");
}

}  // namespace

std::optional<std::chrono::seconds> token_lifetime(const boost::json::value* expires_in) {
  using std::chrono::seconds;
  const std::int64_t max = kMaxTokenLifetime.count();
  if (expires_in == nullptr || expires_in->is_null()) return kDefaultTokenLifetime;
  if (expires_in->is_int64()) {
    const auto v = expires_in->as_int64();
    if (v <= 0) return std::nullopt;
    return seconds(std::min(v, max));
  }
  if (expires_in->is_uint64()) return kMaxTokenLifetime;  // above int64 max: positive and huge
  if (expires_in->is_string()) {  // Entra's v1 endpoint sends a string: "3599"
    const auto& s = expires_in->as_string();
    if (s.empty() || s.size() > 64) return std::nullopt;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;  // no sign, space, fraction or exponent
    }
    std::uint64_t v = 0;
    auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (e == std::errc::result_out_of_range) return kMaxTokenLifetime;  // digits only: huge
    if (e != std::errc() || p != s.data() + s.size() || v == 0) return std::nullopt;
    return seconds(static_cast<std::int64_t>(std::min<std::uint64_t>(v, static_cast<std::uint64_t>(max))));
  }
  return std::nullopt;  // a fraction, bool, object, array
}

namespace {

/// The answer of a 200 from the token endpoint: the token and its lifetime, or why not.
struct Parsed {
  std::string token;
  std::chrono::seconds expires_in{0};
  std::string problem;
};

Parsed parse_token_answer(std::string_view body) {
  Parsed out;
  boost::system::error_code ec;
  const auto json = boost::json::parse(body, ec);
  if (ec || !json.is_object()) {
    out.problem = "answer is not a JSON object";
    return out;
  }
  const auto& obj = json.as_object();
  const auto* token = obj.if_contains("access_token");
  if (!token || !token->is_string() || token->as_string().empty()) {
    out.problem = "answer has no access_token";
    return out;
  }
  if (const auto* type = obj.if_contains("token_type")) {
    if (!type->is_string() || !core::iequals(type->as_string(), "bearer")) {
      out.problem = "token_type is not Bearer";
      return out;
    }
  }
  const auto lifetime = token_lifetime(obj.if_contains("expires_in"));
  if (!lifetime) {
    out.problem = "expires_in is not a positive whole number of seconds";
    return out;
  }
  out.expires_in = *lifetime;
  out.token = std::string(token->as_string());
  return out;
}

/// `error: error_description` of an OAuth error answer, shortened; never holds secrets
/// (Entra's descriptions name the problem, not the credential).
std::string oauth_error(std::string_view body) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(body, ec);
  if (ec || !json.is_object()) return shorten(body, 200);
  std::string out;
  const auto& obj = json.as_object();
  if (const auto* e = obj.if_contains("error"); e && e->is_string()) out = std::string(e->as_string());
  if (const auto* d = obj.if_contains("error_description"); d && d->is_string()) {
    out += ": " + shorten(d->as_string(), 200);
  }
  return out;
}

}  // namespace

std::vector<std::string> OAuthConfig::validate() const {
  std::vector<std::string> problems;
  if (token_url.empty()) {
    problems.push_back(
        "auth.token_url: must be set (https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token)");
  } else if (auto u = boost::urls::parse_uri(token_url);
             !u || (u->scheme() != "https" && u->scheme() != "http")) {
    problems.push_back("auth.token_url: not an http(s) URL: '" + token_url + "'");
  }
  if (client_id.empty()) problems.push_back("auth.client_id: must be set");
  if (scope.empty()) problems.push_back("auth.scope: must be set (https://ORG.crm.dynamics.com/.default)");
  if (client_secret_file.empty() == client_secret_env.empty()) {
    problems.push_back(
        "auth.client_secret_file / auth.client_secret_env: set exactly one (where the secret is read from)");
  }
  if (refresh_margin.count() < 0) problems.push_back("auth.refresh_margin: must not be negative");
  if (request_deadline.count() <= 0) problems.push_back("auth.request_deadline: must be positive");
  return problems;
}

std::string to_string(const OAuthConfig& c) {
  std::ostringstream out;
  out << "token_url=" << c.token_url << " client_id=" << c.client_id << " scope=" << c.scope
      << " client_secret=";
  if (!c.client_secret_file.empty()) {
    out << "<redacted, from file " << c.client_secret_file << ">";
  } else if (!c.client_secret_env.empty()) {
    out << "<redacted, from env " << c.client_secret_env << ">";
  } else {
    out << "<not configured>";
  }
  out << " refresh_margin=" << c.refresh_margin.count() << "ms"
      << " request_deadline=" << c.request_deadline.count() << "ms";
  return out.str();
}

std::string read_secret(std::string_view file_key, const std::string& file, std::string_view env_key,
                        const std::string& env_name, const Environment& env) {
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(std::string(file_key) + ": cannot read " + file);
    std::ostringstream buf;
    buf << in.rdbuf();
    auto secret = trim_right(buf.str());
    if (secret.empty()) throw std::runtime_error(std::string(file_key) + ": " + file + " is empty");
    return secret;
  }
  const auto it = env.find(env_name);
  auto secret = it == env.end() ? std::string() : trim_right(it->second);
  if (secret.empty()) {
    throw std::runtime_error(std::string(env_key) + ": environment variable " + env_name + " is not set or empty");
  }
  return secret;
}

std::string load_client_secret(const OAuthConfig& config, const Environment& env) {
  if (config.client_secret_file.empty() && config.client_secret_env.empty()) {
    throw std::runtime_error("auth: no client secret source configured (client_secret_file or client_secret_env)");
  }
  return read_secret("auth.client_secret_file", config.client_secret_file, "auth.client_secret_env",
                     config.client_secret_env, env);
}

struct OAuthTokenProvider::Impl {
  std::shared_ptr<Transport> transport;
  OAuthConfig config;
  std::string secret;
  const core::Clock& clock;

  struct Cached {
    std::string token;
    core::Clock::TimePoint refresh_at;
    core::Clock::TimePoint expires_at;
  };
  std::optional<Cached> cached;

  /// The one token request in flight; callers that arrive meanwhile wait on its timer,
  /// which is cancelled (never expires) once `result` is set.
  struct Refresh {
    explicit Refresh(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<TokenResult> result;
  };
  std::shared_ptr<Refresh> in_flight;
  std::uint64_t requests = 0;

  Impl(std::shared_ptr<Transport> t, OAuthConfig c, std::string s, const core::Clock& clk)
      : transport(std::move(t)), config(std::move(c)), secret(std::move(s)), clock(clk) {}

  asio::awaitable<TokenResult> fetch() {
    ++requests;
    Request req;
    req.method = "POST";
    req.target = "";  // the transport's base URL is the token URL
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    req.body = "grant_type=client_credentials&client_id=" + form_encode(config.client_id) +
               "&client_secret=" + form_encode(secret) + "&scope=" + form_encode(config.scope);
    req.deadline = config.request_deadline;
    req.idempotent = true;  // a client-credentials grant has no side effect
    auto result = co_await transport->send(std::move(req));
    if (!result) {
      const auto& f = result.error();
      // A certificate the token endpoint's TLS check refuses is a configuration problem like
      // D365's own: it keeps its kind so the caller stops instead of rejecting invoices.
      const auto code = f.code == TransportError::tls_verify_failed ? TransportError::tls_verify_failed
                        : is_transient(f.code)                     ? TransportError::auth_unavailable
                                                                   : TransportError::auth_rejected;
      co_return Failure{code, "token endpoint: " + to_string(f), false};
    }
    const int status = result->status;
    if (status == 200) {
      auto parsed = parse_token_answer(result->body);
      if (!parsed.problem.empty()) {
        co_return Failure{TransportError::auth_rejected, "token endpoint: " + parsed.problem, false};
      }
      const auto now = clock.now();
      const auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(parsed.expires_in);
      const auto margin = std::min(config.refresh_margin, lifetime / 2);
      cached = Cached{parsed.token, now + lifetime - margin, now + lifetime};
      ib::log::info("OAuth2 access token obtained",
                    {{"expires_in_s", std::to_string(parsed.expires_in.count())},
                     {"client_id", config.client_id}});
      co_return std::move(parsed.token);
    }
    const bool transient = status == 408 || status == 429 || status >= 500;
    const auto detail = oauth_error(result->body);
    co_return Failure{transient ? TransportError::auth_unavailable : TransportError::auth_rejected,
                      "token endpoint answered " + std::to_string(status) + (detail.empty() ? "" : ": " + detail),
                      false};
  }

  asio::awaitable<TokenResult> token(std::shared_ptr<Impl> self) {
    (void)self;  // keeps the state alive while this call runs
    if (cached && clock.now() < cached->refresh_at) co_return cached->token;
    if (in_flight) {
      auto refresh = in_flight;
      auto [ec] = co_await refresh->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // cancelled when the result is ready
      if (refresh->result) co_return *refresh->result;
      co_return Failure{TransportError::shutdown, "token refresh abandoned", false};
    }
    auto refresh = std::make_shared<Refresh>(co_await asio::this_coro::executor);
    in_flight = refresh;
    TokenResult result = co_await fetch();
    if (!result && cached && clock.now() < cached->expires_at) {
      ib::log::warn("OAuth2 token refresh failed; the current token is still valid and stays in use",
                    {{"error", to_string(result.error())}});
      result = cached->token;
    } else if (!result) {
      ib::log::warn("OAuth2 token request failed", {{"error", to_string(result.error())}});
    }
    refresh->result = result;
    in_flight.reset();
    refresh->timer.cancel();
    co_return result;
  }
};

OAuthTokenProvider::OAuthTokenProvider(std::shared_ptr<Transport> token_transport, OAuthConfig config,
                                       std::string client_secret, const core::Clock& clock) {
  const auto problems = config.validate();
  if (!problems.empty()) {
    std::string all = "invalid OAuth2 configuration:";
    for (const auto& p : problems) all += "\n  " + p;
    throw std::invalid_argument(all);
  }
  impl_ = std::make_shared<Impl>(std::move(token_transport), std::move(config), std::move(client_secret), clock);
}

OAuthTokenProvider::~OAuthTokenProvider() = default;

asio::awaitable<TokenResult> OAuthTokenProvider::token() { return impl_->token(impl_); }

void OAuthTokenProvider::invalidate(std::string rejected_token) {
  if (!impl_->cached) return;
  if (!rejected_token.empty() && rejected_token != impl_->cached->token) return;
  impl_->cached.reset();
}

std::uint64_t OAuthTokenProvider::token_requests() const { return impl_->requests; }

}  // namespace ib::http
