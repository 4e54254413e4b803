#pragma once

#include "http/token_provider.hpp"
#include "http/transport.hpp"

#include "core/clock.hpp"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ib::http {

/// OAuth 2.0 client-credentials settings (config keys under `auth.`), Microsoft Entra ID
/// shape. The client secret itself is never part of the config: it is read from the file
/// or environment variable named here.
struct OAuthConfig {
  /// Token endpoint: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`. The
  /// provider's transport uses this URL as its base URL (tests point it at a local server).
  std::string token_url;
  /// Application (client) id.
  std::string client_id;
  /// Requested scope: `https://ORG.crm.dynamics.com/.default`.
  std::string scope;
  /// File holding the client secret (trailing whitespace ignored). Exactly one of
  /// client_secret_file and client_secret_env is set.
  std::string client_secret_file;
  /// Name of the environment variable holding the client secret.
  std::string client_secret_env;
  /// A token is refreshed this long before it expires (at most half its lifetime).
  std::chrono::milliseconds refresh_margin{300'000};
  /// Deadline of one token request.
  std::chrono::milliseconds request_deadline{10'000};

  /// Every problem, each naming its key (`auth.client_id: ...`); empty when valid.
  std::vector<std::string> validate() const;
};

/// One line describing the config for logs: the secret's source (file path or variable
/// name), never a secret value.
std::string to_string(const OAuthConfig& config);

/// Environment variables, name -> value (same shape as ib::config::Environment).
using Environment = std::map<std::string, std::string>;

/// Reads the client secret from the file or environment variable the config names
/// (`env` stands for the process environment; pass ib::config::environment() in the
/// daemon). Throws std::runtime_error naming the source, never the value, when it is
/// missing or empty. Startup only.
std::string load_client_secret(const OAuthConfig& config, const Environment& env);

/// A secret from `file` when set, else from the environment variable `env_name`, trailing
/// whitespace dropped. `file_key` / `env_key` name the config keys in errors. Throws
/// std::runtime_error when it is missing or empty, never with the value. Startup only.
std::string read_secret(std::string_view file_key, const std::string& file, std::string_view env_key,
                        const std::string& env_name, const Environment& env);

/// The longest token lifetime the provider believes: a larger `expires_in` is clamped to it
/// (the token is refreshed at least once a day; a 401 refreshes it earlier anyway).
inline constexpr std::chrono::seconds kMaxTokenLifetime{24 * 3600};
/// The lifetime of a token whose answer has no `expires_in` (RFC 6749 makes it optional;
/// Entra always sends it). A token that expires earlier is refreshed on its first 401.
inline constexpr std::chrono::seconds kDefaultTokenLifetime{3600};

/// The lifetime an `expires_in` value of a token answer stands for (nullptr: the field is
/// missing): a positive JSON integer or a string of decimal digits ("3599", Entra v1),
/// clamped to kMaxTokenLifetime (however many digits); missing or null gives
/// kDefaultTokenLifetime; zero, negative, fractions, other strings and other types give
/// nullopt (the answer is refused). Pure; never overflows.
std::optional<std::chrono::seconds> token_lifetime(const boost::json::value* expires_in);

/// OAuth 2.0 client-credentials token provider (Entra ID `/oauth2/v2.0/token`).
///
/// Caches the token until `expires_in - refresh_margin`; a refresh that fails while the
/// old token is still valid keeps using the old one. Only one token request runs at a
/// time: concurrent callers wait for it and share its result. Never logs the secret or
/// the token.
class OAuthTokenProvider final : public TokenProvider {
public:
  /// `token_transport`'s base URL is config.token_url. `clock` must outlive the provider.
  /// Throws std::invalid_argument when config.validate() finds problems.
  OAuthTokenProvider(std::shared_ptr<Transport> token_transport, OAuthConfig config,
                     std::string client_secret, const core::Clock& clock);
  ~OAuthTokenProvider() override;
  OAuthTokenProvider(const OAuthTokenProvider&) = delete;
  OAuthTokenProvider& operator=(const OAuthTokenProvider&) = delete;

  boost::asio::awaitable<TokenResult> token() override;
  void invalidate(std::string rejected_token) override;

  /// Token requests made so far (successful or not).
  std::uint64_t token_requests() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::http
