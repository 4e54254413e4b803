#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::core {

/// Header fields in wire order, names as sent; names may repeat. One type for HTTP
/// request/response headers, OData batch part headers and Kafka record headers.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The value of the first header named `name`, ASCII case-insensitively (HTTP, MIME).
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

/// The value of the last header named exactly `name` (Kafka: names are case-sensitive and
/// a repeated name's last value is the current one).
std::optional<std::string_view> find_last_header(const Headers& headers, std::string_view name);

}  // namespace ib::core
