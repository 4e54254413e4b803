#pragma once

#include "http/beast_transport.hpp"
#include "http/oauth_token_provider.hpp"
#include "http/token_provider.hpp"

#include "core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::http {

/// How requests to D365 are authorized.
enum class AuthMode {
  none,                ///< no Authorization header (local simulator)
  static_token,        ///< a fixed bearer token from an environment variable (local use)
  client_credentials,  ///< OAuth 2.0 client credentials against Entra ID (production)
};

std::string_view to_string(AuthMode mode);
/// "none" | "static_token" | "client_credentials"; nullopt for anything else.
std::optional<AuthMode> parse_auth_mode(std::string_view name);
std::vector<std::string> auth_mode_names();

/// Config keys under `auth.`.
struct AuthConfig {
  AuthMode mode = AuthMode::client_credentials;
  /// With client_credentials.
  OAuthConfig oauth;
  /// With static_token: the file or (exactly one of them) the environment variable holding
  /// the token. Trailing whitespace is dropped. Never logged.
  std::string static_token_file;
  std::string static_token_env;

  /// Every problem, each naming its key; empty when valid.
  std::vector<std::string> validate() const;
};

/// Builds the token provider `config` asks for. For client_credentials it reads the client
/// secret (load_client_secret) and makes a BeastTransport to `config.oauth.token_url` that
/// takes its TLS settings (verification, CA file) and user agent from `tls_from`.
/// Throws (std::invalid_argument / std::runtime_error) on a bad config or missing secret:
/// startup only. `clock` must outlive the provider.
std::shared_ptr<TokenProvider> make_token_provider(boost::asio::any_io_executor executor,
                                                   const AuthConfig& config,
                                                   const BeastTransportConfig& tls_from,
                                                   const core::Clock& clock, const Environment& env);

}  // namespace ib::http
