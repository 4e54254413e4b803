#include "http/auth.hpp"

#include <stdexcept>

namespace ib::http {

std::string_view to_string(AuthMode mode) {
  switch (mode) {
    case AuthMode::none: return "none";
    case AuthMode::static_token: return "static_token";
    case AuthMode::client_credentials: return "client_credentials";
  }
  return "unknown";
}

std::optional<AuthMode> parse_auth_mode(std::string_view name) {
  for (auto m : {AuthMode::none, AuthMode::static_token, AuthMode::client_credentials}) {
    if (to_string(m) == name) return m;
  }
  return std::nullopt;
}

std::vector<std::string> auth_mode_names() { return {"none", "static_token", "client_credentials"}; }

std::vector<std::string> AuthConfig::validate() const {
  std::vector<std::string> problems;
  switch (mode) {
    case AuthMode::none: break;
    case AuthMode::static_token:
      if (static_token_env.empty() == static_token_file.empty()) {
        problems.push_back(
            "auth: static_token needs exactly one of static_token_file and static_token_env");
      }
      break;
    case AuthMode::client_credentials: problems = oauth.validate(); break;
  }
  return problems;
}

std::shared_ptr<TokenProvider> make_token_provider(boost::asio::any_io_executor executor,
                                                   const AuthConfig& config,
                                                   const BeastTransportConfig& tls_from,
                                                   const core::Clock& clock, const Environment& env) {
  const auto problems = config.validate();
  if (!problems.empty()) {
    std::string all = "invalid auth configuration:";
    for (const auto& p : problems) all += "\n  " + p;
    throw std::invalid_argument(all);
  }
  switch (config.mode) {
    case AuthMode::none: return std::make_shared<NoAuthProvider>();
    case AuthMode::static_token:
      return std::make_shared<StaticTokenProvider>(read_secret("auth.static_token_file", config.static_token_file,
                                                               "auth.static_token_env", config.static_token_env, env));
    case AuthMode::client_credentials: {
      BeastTransportConfig token_http;
      token_http.base_url = config.oauth.token_url;
      token_http.max_connections = 2;
      token_http.default_deadline = config.oauth.request_deadline;
      token_http.user_agent = tls_from.user_agent;
      token_http.tls_verify_peer = tls_from.tls_verify_peer;
      token_http.tls_ca_file = tls_from.tls_ca_file;
      auto transport = std::make_shared<BeastTransport>(std::move(executor), token_http);
      return std::make_shared<OAuthTokenProvider>(std::move(transport), config.oauth,
                                                  load_client_secret(config.oauth, env), clock);
    }
  }
  throw std::invalid_argument("auth.mode: unknown");
}

}  // namespace ib::http
