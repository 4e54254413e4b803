#include "odata/batch_config.hpp"

#include <boost/url/parse.hpp>

namespace ib::odata {

std::string_view to_string(BatchFormat f) { return f == BatchFormat::json ? "json" : "multipart"; }
std::optional<BatchFormat> parse_batch_format(std::string_view n) {
  if (n == "multipart") return BatchFormat::multipart;
  if (n == "json") return BatchFormat::json;
  return std::nullopt;
}

std::string_view to_string(UrlForm f) {
  switch (f) {
    case UrlForm::absolute_path: return "absolute_path";
    case UrlForm::relative: return "relative";
    case UrlForm::absolute_uri: return "absolute_uri";
  }
  return "?";
}
std::optional<UrlForm> parse_url_form(std::string_view n) {
  if (n == "absolute_path") return UrlForm::absolute_path;
  if (n == "relative") return UrlForm::relative;
  if (n == "absolute_uri") return UrlForm::absolute_uri;
  return std::nullopt;
}

std::string_view to_string(Operation o) {
  switch (o) {
    case Operation::create: return "create";
    case Operation::create_if_absent: return "create_if_absent";
    case Operation::upsert: return "upsert";
  }
  return "?";
}
std::optional<Operation> parse_operation(std::string_view n) {
  if (n == "create") return Operation::create;
  if (n == "create_if_absent") return Operation::create_if_absent;
  if (n == "upsert") return Operation::upsert;
  return std::nullopt;
}

std::vector<std::string> BatchConfig::validate() const {
  std::vector<std::string> p;
  if (service_url.empty()) {
    p.emplace_back("odata.service_url: required (e.g. https://org.crm.dynamics.com/api/data/v9.2)");
  } else {
    auto u = boost::urls::parse_absolute_uri(service_url);
    if (!u) {
      p.emplace_back("odata.service_url: not an absolute URI: " + service_url);
    } else {
      if (u->scheme() != "http" && u->scheme() != "https")
        p.emplace_back("odata.service_url: scheme must be http or https");
      if (!u->has_authority() || u->host().empty()) p.emplace_back("odata.service_url: host missing");
      if (u->has_query() || u->has_fragment())
        p.emplace_back("odata.service_url: must not have a query or fragment");
    }
  }
  if (max_requests == 0) p.emplace_back("odata.max_requests: must be > 0");
  if (max_requests > kMaxBatchRequests)
    p.emplace_back("odata.max_requests: must be <= " + std::to_string(kMaxBatchRequests) +
                   " (the most requests D365 accepts in one $batch)");
  return p;
}

std::vector<std::string> ClassifyConfig::validate() const {
  std::vector<std::string> p;
  for (const auto& c : duplicate_codes) {
    if (c.empty()) p.emplace_back("odata.classify.duplicate_codes: empty code");
  }
  for (const auto& m : duplicate_messages) {
    if (m.find_first_not_of(" \t") == std::string::npos)
      p.emplace_back("odata.classify.duplicate_messages: empty or blank text (it would match every error)");
  }
  for (int s : duplicate_statuses) {
    if (s < 400 || s > 499 || s == 429 || s == 401)
      p.emplace_back("odata.classify.duplicate_statuses: " + std::to_string(s) +
                     " is not a 4xx conflict status (401 and 429 are not allowed)");
  }
  if (default_retry_after.count() < 0) p.emplace_back("odata.classify.default_retry_after: must be >= 0");
  if (max_retry_after < default_retry_after)
    p.emplace_back("odata.classify.max_retry_after: must be >= default_retry_after");
  return p;
}

}  // namespace ib::odata
