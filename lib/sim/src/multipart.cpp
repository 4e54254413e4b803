#include "sim/multipart.hpp"

#include "text.hpp"

#include <algorithm>
#include <cctype>

namespace ib::sim {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Reads one line (without its CR?LF) starting at `pos`; advances pos past the line end.
// Returns false at end of input without a line end.
bool next_line(std::string_view text, std::size_t& pos, std::string_view& line) {
  const auto nl = text.find('\n', pos);
  if (nl == std::string_view::npos) {
    line = text.substr(pos);
    pos = text.size();
    return false;
  }
  line = text.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = nl + 1;
  return true;
}

// Parses header lines up to a blank line; `pos` ends at the first byte after it.
bool parse_headers(std::string_view text, std::size_t& pos, HeaderList& out, std::string& error) {
  for (;;) {
    std::string_view line;
    if (!next_line(text, pos, line)) {
      if (trim(line).empty()) return true;  // headers end with the text (no body)
      error = "header section is not terminated by a blank line";
      return false;
    }
    if (line.empty()) return true;
    if (line.front() == ' ' || line.front() == '\t') {
      error = "folded header lines are not supported";
      return false;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = "malformed header line (no name or ':')";
      return false;
    }
    out.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    if (out.size() > 100) {
      error = "too many header lines";
      return false;
    }
  }
}

}  // namespace

std::optional<std::string_view> find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return std::nullopt;
}

MultipartParse parse_multipart(std::string_view body, std::string_view boundary,
                               std::size_t max_parts) {
  MultipartParse r;
  if (boundary.empty()) {
    r.error = "empty multipart boundary";
    return r;
  }
  const std::string delim = "--" + std::string(boundary);
  // A delimiter counts only at the start of a line.
  auto find_delim = [&](std::size_t from) {
    for (;;) {
      const auto at = body.find(delim, from);
      if (at == std::string_view::npos) return at;
      if (at == 0 || body[at - 1] == '\n') return at;
      from = at + 1;
    }
  };
  auto at = find_delim(0);
  if (at == std::string_view::npos) {
    r.error = "multipart body has no delimiter line for boundary '" + std::string(boundary) + "'";
    return r;
  }
  for (;;) {
    std::size_t pos = at + delim.size();
    if (body.substr(pos, 2) == "--") return r;  // closing delimiter; the epilogue is ignored
    // Transport padding, then the line end.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) == "\r\n") pos += 2;
    else if (body.substr(pos, 1) == "\n") pos += 1;
    else {
      r.error = pos >= body.size() ? "multipart body ends without a closing delimiter"
                                   : "garbage after a multipart delimiter";
      return r;
    }
    const auto next = find_delim(pos);
    if (next == std::string_view::npos) {
      r.error = "multipart body ends without a closing delimiter";
      return r;
    }
    // The line end before the next delimiter belongs to the delimiter.
    std::size_t end = next;
    if (end > pos && body[end - 1] == '\n') --end;
    if (end > pos && body[end - 1] == '\r') --end;
    const auto content = body.substr(pos, end - pos);
    if (r.parts.size() >= max_parts) {
      r.error = "too many parts in a multipart body (limit " + std::to_string(max_parts) + ")";
      return r;
    }
    MimePart part;
    std::size_t hp = 0;
    if (!parse_headers(content, hp, part.headers, r.error)) {
      r.error = "part " + std::to_string(r.parts.size() + 1) + ": " + r.error;
      return r;
    }
    part.body = content.substr(std::min(hp, content.size()));
    r.parts.push_back(std::move(part));
    at = next;
  }
}

std::optional<std::string> multipart_boundary(std::string_view ct) {
  const auto semi = ct.find(';');
  if (!iequals(trim(ct.substr(0, semi)), "multipart/mixed")) return std::nullopt;
  if (semi == std::string_view::npos) return std::nullopt;
  auto params = ct.substr(semi + 1);
  while (!params.empty()) {
    const auto next = params.find(';');
    auto param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(param.substr(0, eq)), "boundary")) continue;
    auto value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (value.empty() || value.size() > 70) return std::nullopt;
    return std::string(value);
  }
  return std::nullopt;
}

InnerRequestParse parse_inner_request(std::string_view text) {
  InnerRequestParse r;
  std::size_t pos = 0;
  std::string_view line;
  // Tolerate blank lines before the request line.
  do {
    if (!next_line(text, pos, line) && trim(line).empty()) {
      r.error = "missing request line";
      return r;
    }
  } while (trim(line).empty());
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    r.error = "malformed request line '" + std::string(line.substr(0, 80)) + "'";
    return r;
  }
  r.request.method = line.substr(0, sp1);
  r.request.target = trim(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const auto version = trim(line.substr(sp2 + 1));
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    r.error = "request line must end with HTTP/1.1";
    return r;
  }
  if (r.request.target.empty() || r.request.method.empty()) {
    r.error = "malformed request line";
    return r;
  }
  for (char c : r.request.method)
    if (!std::isupper(static_cast<unsigned char>(c))) {
      r.error = "malformed request method '" + std::string(r.request.method) + "'";
      return r;
    }
  if (!parse_headers(text, pos, r.request.headers, r.error)) return r;
  r.request.body = text.substr(std::min(pos, text.size()));
  return r;
}

}  // namespace ib::sim
