#include "token_issuer.hpp"

#include "seeded_random.hpp"
#include "text.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <map>

namespace ib::sim {

namespace json = boost::json;

namespace {

Response oauth_error(int status, std::string_view err, std::string_view desc) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = json::serialize(json::object{{"error", err}, {"error_description", desc}});
  return r;
}

// application/x-www-form-urlencoded; a repeated name keeps the last value.
std::map<std::string, std::string> parse_form(std::string_view b) {
  std::map<std::string, std::string> form;
  while (!b.empty()) {
    const auto amp = b.find('&');
    const auto pair = b.substr(0, amp);
    b = amp == std::string_view::npos ? std::string_view{} : b.substr(amp + 1);
    const auto eq = pair.find('=');
    form[percent_decode(pair.substr(0, eq), true)] =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
  }
  return form;
}

}  // namespace

TokenIssuer::TokenIssuer(const AuthOptions& auth, ErrorStyle style, SeededRandom& random,
                         SimStats& stats)
    : auth_(auth), style_(style), random_(random), st_(stats) {}

Response TokenIssuer::issue(std::string_view form_body) {
  auto form = parse_form(form_body);
  if (form["grant_type"] != "client_credentials")
    return oauth_error(400, "unsupported_grant_type",
                       "AADSTS70003: The app requested an unsupported grant type.");
  if (form["scope"].empty())
    return oauth_error(400, "invalid_request",
                       "AADSTS900144: The request body must contain the following parameter: 'scope'.");
  if (form["client_id"] != auth_.client_id)
    return oauth_error(400, "unauthorized_client",
                       "AADSTS700016: Application with identifier '" + form["client_id"] +
                           "' was not found in the directory.");
  if (form["client_secret"] != auth_.client_secret)
    return oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(random_.next()),
                static_cast<unsigned long long>(random_.next()));
  const std::string tok = std::string("sim.") + buf;
  tokens_[tok] = Clock::now() + std::chrono::seconds(auth_.token_lifetime_seconds);
  Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = json::serialize(json::object{{"token_type", "Bearer"},
                                        {"expires_in", auth_.token_lifetime_seconds},
                                        {"ext_expires_in", auth_.token_lifetime_seconds},
                                        {"access_token", tok}});
  return r;
}

std::optional<Response> TokenIssuer::check(const HeaderList& headers, std::string_view resource_id) {
  if (!auth_.enabled) return std::nullopt;
  const auto h = find_header(headers, "Authorization");
  std::string_view why = "missing bearer token";
  if (h && h->size() > 7 && iequals(h->substr(0, 7), "Bearer ")) {
    auto it = tokens_.find(std::string(h->substr(7)));
    if (it != tokens_.end() && Clock::now() < it->second) return std::nullopt;
    why = it == tokens_.end() ? "invalid bearer token" : "expired bearer token";
  }
  ++st_.unauthorized;
  auto r = error_response(style_, 401, "0x80072243", std::string("Authentication failed: ") + std::string(why));
  r.headers.emplace_back("WWW-Authenticate",
                         "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, "
                         "resource_id=" + std::string(resource_id) + ", error=\"invalid_token\"");
  return r;
}

void TokenIssuer::expire_all() {
  for (auto& [t, exp] : tokens_) exp = Clock::now() - std::chrono::seconds(1);
}

void TokenIssuer::clear() { tokens_.clear(); }

}  // namespace ib::sim
