#pragma once

// OAuth2 client credentials as Entra ID answers them (`POST /<tenant>/oauth2/v2.0/token`),
// and the bearer-token check of data requests when `auth.enabled`. Not thread-safe: the
// Router calls it under its mutex.

#include "message.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ib::sim {

class SeededRandom;

class TokenIssuer {
public:
  using Clock = std::chrono::steady_clock;

  /// `auth` is the Router's; tokens draw from `random`. `style` shapes the 401 answers of
  /// data requests (the token endpoint answers in Entra ID's shape).
  TokenIssuer(const AuthOptions& auth, ErrorStyle style, SeededRandom& random, SimStats& stats);

  /// The token endpoint's answer to a form body (`grant_type=client_credentials&...`):
  /// 200 with a new token, or Entra ID's 400/401 error shape.
  Response issue(std::string_view form_body);
  /// nullopt when auth is disabled or `headers` carry an issued, unexpired bearer token;
  /// otherwise the 401 answer (counted in `unauthorized`) naming `resource_id`.
  std::optional<Response> check(const HeaderList& headers, std::string_view resource_id);
  /// Every issued token becomes expired.
  void expire_all();
  /// Forgets every issued token.
  void clear();

private:
  const AuthOptions& auth_;
  ErrorStyle style_;
  SeededRandom& random_;
  SimStats& st_;
  std::unordered_map<std::string, Clock::time_point> tokens_;
};

}  // namespace ib::sim
