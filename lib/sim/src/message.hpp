#pragma once

// The request and answer types every part of the simulator's service speaks, and the
// answer shapes they share. No I/O: simulator.cpp turns Beast messages into these.

#include "sim/multipart.hpp"
#include "sim/options.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::sim {

/// A request as the service sees it: views into the transport's buffers.
struct RequestView {
  std::string_view method;
  std::string_view target;  ///< path + query as sent (absolute URI allowed)
  HeaderList headers;
  std::string_view body;
  std::string_view scheme = "http";
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The result of processing a data request.
struct Outcome {
  Response response;
  double delay_ms = 0;       ///< wait before writing (operation latency, slow response)
  bool drop = false;         ///< close the connection (RST) instead of answering
};

/// An error answer with the OData JSON headers, shaped by `style`: Dataverse
/// `{"error":{"code","message"}}`; Finance and Operations
/// `{"error":{"code":"","message":"An error has occurred.","innererror":{"message":
/// <message>,"type":"...AxODataWriteException","stacktrace":""}}}` (`code` unused).
Response error_response(ErrorStyle style, int status, std::string_view code,
                        std::string_view message);

/// A JSON body with the OData JSON headers.
Response json_response(int status, std::string body);

/// The first header named `name` (case-insensitive), or `fallback`.
std::string header_or(const HeaderList& headers, std::string_view name,
                      std::string_view fallback = {});

/// Splits an outer or inner ($batch part) target into the path relative to `service_root`
/// (no leading '/') and the raw query. Accepts absolute URIs (the host is ignored), absolute
/// paths and service-root-relative paths; false when an absolute path is outside the root.
bool resolve_target(std::string_view service_root, std::string_view target,
                    std::string_view& relative_path, std::string_view& query);

}  // namespace ib::sim
