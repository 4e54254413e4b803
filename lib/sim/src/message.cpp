#include "message.hpp"

#include "core/utf8.hpp"

#include <boost/json.hpp>

namespace ib::sim {

namespace json = boost::json;

Response error_response(ErrorStyle style, int status, std::string_view code,
                        std::string_view message) {
  // Messages quote request text (percent-decoded URL segments, keys): the answer stays
  // JSON even when those bytes are not UTF-8.
  json::object err;
  if (style == ErrorStyle::FinanceOperations) {
    err = {{"code", ""},
           {"message", "An error has occurred."},
           {"innererror",
            json::object{{"message", core::to_valid_utf8(message)},
                         {"type", "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"},
                         {"stacktrace", ""}}}};
  } else {
    err = {{"code", code}, {"message", core::to_valid_utf8(message)}};
  }
  return json_response(status, json::serialize(json::object{{"error", std::move(err)}}));
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; odata.metadata=minimal");
  r.headers.emplace_back("OData-Version", "4.0");
  r.body = std::move(body);
  return r;
}

std::string header_or(const HeaderList& headers, std::string_view name, std::string_view fallback) {
  auto v = find_header(headers, name);
  return std::string(v ? *v : fallback);
}

bool resolve_target(std::string_view service_root, std::string_view target,
                    std::string_view& relative_path, std::string_view& query) {
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && scheme < 8) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const auto q = target.find('?');
  query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  auto path = target.substr(0, q);
  if (!path.empty() && path.front() == '/') {
    if (path.substr(0, service_root.size()) != service_root) return false;
    path.remove_prefix(service_root.size());
    if (!path.empty() && path.front() != '/') return false;
    if (!path.empty()) path.remove_prefix(1);
  }
  relative_path = path;
  return true;
}

}  // namespace ib::sim
