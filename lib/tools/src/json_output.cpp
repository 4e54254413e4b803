#include "json_output.hpp"

#include "core/utf8.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ib::tools::json_output {

namespace json = boost::json;

namespace {

// `text` (one valid JSON value) without whitespace outside strings when it has a line
// break; JSON strings hold no raw control characters, so every \n and \r is outside one.
std::string one_line_json(std::string_view text) {
  if (text.find_first_of("\r\n") == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '"') {
      in_string = true;
    }
    out += c;
  }
  return out;
}

}  // namespace

void put_text(json::object& o, std::string_view key, std::string_view bytes) {
  if (core::is_valid_utf8(bytes)) {
    o[key] = bytes;
    return;
  }
  o[key] = core::to_valid_utf8(bytes);
  o[std::string(key) + "_base64"] = core::base64_encode(bytes);
}

std::string serialize_with_json(json::object o, std::string_view key, std::string_view bytes) {
  boost::system::error_code ec;
  json::parse(bytes, ec);
  if (ec) {
    put_text(o, key, bytes);
    return json::serialize(o);
  }
  auto out = json::serialize(o);
  out.pop_back();  // '}'
  if (!o.empty()) out += ',';
  out += json::serialize(json::string(key));
  out += ':';
  out += one_line_json(bytes);
  out += '}';
  return out;
}

std::string pretty(std::string_view text, int indent) {
  std::string out;
  out.reserve(text.size() * 2);
  int depth = indent;
  const auto newline = [&] {
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
  };
  const auto next_token = [&](std::size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    return i;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case ' ': case '\t': case '\n': case '\r': break;
      case '{': case '[': {
        const auto n = next_token(i + 1);
        if (n < text.size() && text[n] == (c == '{' ? '}' : ']')) {
          out += c;
          out += text[n];
          i = n;
          break;
        }
        out += c;
        ++depth;
        newline();
        break;
      }
      case '}': case ']':
        --depth;
        newline();
        out += c;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':': out += ": "; break;
      case '"': {
        const auto start = i;
        for (++i; i < text.size() && text[i] != '"'; ++i) {
          if (text[i] == '\\') ++i;
        }
        out.append(text.substr(start, i - start + 1));
        break;
      }
      default: out += c;  // numbers, true, false, null: as written
    }
  }
  return out;
}

}  // namespace ib::tools::json_output
