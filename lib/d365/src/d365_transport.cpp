#include "d365/d365_transport.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/auth.hpp"
#include "http/authorized_transport.hpp"
#include "http/beast_transport.hpp"

#include <stdexcept>

namespace ib::d365 {

std::shared_ptr<http::Transport> make_d365_transport(boost::asio::any_io_executor executor,
                                                     const D365Config& config,
                                                     const config::Environment& env) {
  if (const auto problems = config.validate(); !problems.empty()) {
    std::string all("d365 config:");
    for (const auto& p : problems) all += "\n  " + p;
    throw std::invalid_argument(all);
  }
  http::BeastTransportConfig tc;
  tc.base_url = config.base_url;
  tc.max_connections = config.max_connections;
  tc.default_deadline = config.request_deadline;
  tc.tls_ca_file = config.tls_ca_file;
  tc.tls_verify_peer = !config.tls_insecure;
  auto beast = std::make_shared<http::BeastTransport>(executor, tc);
  if (config.auth.mode == AuthMode::none) return beast;
  // The d365.auth keys onto the HTTP module's auth config: one place reads secrets and
  // builds the token endpoint's transport (with the same TLS settings).
  http::AuthConfig auth;
  auth.mode = config.auth.mode;
  auth.static_token_file = config.auth.token_file;
  auth.static_token_env = config.auth.token_env;
  auth.oauth.token_url = config.auth.effective_token_url();
  auth.oauth.client_id = config.auth.client_id;
  auth.oauth.scope = config.auth.scope;
  auth.oauth.client_secret_file = config.auth.client_secret_file;
  auth.oauth.client_secret_env = config.auth.client_secret_env;
  if (auth.mode == AuthMode::client_credentials) {
    log::info("d365 auth: client credentials", {{"source", http::to_string(auth.oauth)}});
  }
  auto tokens = http::make_token_provider(executor, auth, tc, core::system_clock(),
                                          http::Environment(env.begin(), env.end()));
  return std::make_shared<http::AuthorizedTransport>(beast, tokens);
}

}  // namespace ib::d365
