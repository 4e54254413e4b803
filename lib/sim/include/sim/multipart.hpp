#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::sim {

/// Header lines of a MIME part or an inner HTTP message, in order, names as sent.
using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

/// Case-insensitive lookup of the first header named `name`.
std::optional<std::string_view> find_header(const HeaderList& headers, std::string_view name);

/// One body part of a multipart/mixed body (RFC 2046 §5.1). Views into the parsed body.
struct MimePart {
  HeaderList headers;
  std::string_view body;
};

/// Result of a parse: `error` empty on success, else a one-line reason for a 400.
struct MultipartParse {
  std::vector<MimePart> parts;
  std::string error;
};

/// Splits `body` at the delimiter lines of `boundary`. Accepts CRLF or bare LF line ends,
/// a preamble and an epilogue; requires the closing delimiter. Stops with an error after
/// `max_parts` parts so a huge body cannot grow memory without bound.
MultipartParse parse_multipart(std::string_view body, std::string_view boundary,
                               std::size_t max_parts);

/// The `boundary` parameter of a multipart Content-Type (quoted or not), or nullopt when
/// the media type is not multipart/mixed or the boundary is missing/invalid (1..70 chars).
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// An HTTP request carried in an `application/http` part (request line, headers, body).
struct InnerRequest {
  std::string_view method;
  std::string_view target;
  HeaderList headers;
  std::string_view body;
};

struct InnerRequestParse {
  InnerRequest request;
  std::string error;
};

/// Parses `METHOD SP target SP HTTP/1.x`, header lines, a blank line and the body.
InnerRequestParse parse_inner_request(std::string_view text);

}  // namespace ib::sim
