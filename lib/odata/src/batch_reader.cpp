#include "odata/batch_reader.hpp"

#include "core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ib::odata {
namespace {

using sv = std::string_view;
constexpr auto npos = sv::npos;

using core::iequals;
using core::istarts_with;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

sv trim(sv s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// The line at `pos` without its line end (CRLF or LF); advances `pos` past the line end.
bool next_line(sv text, std::size_t& pos, sv& line) {
  if (pos >= text.size()) return false;
  const auto nl = text.find('\n', pos);
  const std::size_t end = nl == npos ? text.size() : nl;
  line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = nl == npos ? text.size() : nl + 1;
  return true;
}

/// Reads header lines up to the blank line; returns the offset after it (text.size() when
/// there is none). False in `ok` when there are more than `max` headers.
std::size_t read_headers(sv text, std::size_t pos, Headers& out, std::size_t max, bool& ok) {
  sv line;
  while (next_line(text, pos, line)) {
    if (trim(line).empty()) return pos;
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {  // obsolete line folding
      if (!out.back().second.empty()) out.back().second += ' ';
      out.back().second += trim(line);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == npos) continue;  // not a header: ignored
    out.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    if (out.size() > max) {
      ok = false;
      return text.size();
    }
  }
  return text.size();
}

struct Split {
  std::vector<sv> parts;
  bool found = false;   ///< at least one delimiter line
  bool closed = false;  ///< the close delimiter was seen
  bool too_many = false;
};

/// RFC 2046 §5.1: delimiter lines `--boundary` at a line start, optional blanks, line end;
/// the line break before a delimiter belongs to it. Stops at the close delimiter.
Split split_multipart(sv body, sv boundary, std::size_t max_parts) {
  const std::string delim = "--" + std::string(boundary);
  Split s;
  std::size_t search = 0;
  std::size_t part_start = npos;
  while (true) {
    const auto at = body.find(delim, search);
    if (at == npos) break;
    if (at != 0 && body[at - 1] != '\n') {
      search = at + 1;
      continue;
    }
    const std::size_t after = at + delim.size();
    const bool close = body.substr(after, 2) == "--";
    std::size_t q = close ? after + 2 : after;
    while (q < body.size() && (body[q] == ' ' || body[q] == '\t')) ++q;
    const bool eol = q == body.size() || body[q] == '\n' ||
                     (body[q] == '\r' && (q + 1 == body.size() || body[q + 1] == '\n'));
    if (!eol) {
      search = at + 1;
      continue;
    }
    if (part_start != npos) {
      std::size_t end = at;
      if (end > part_start && body[end - 1] == '\n') {
        --end;
        if (end > part_start && body[end - 1] == '\r') --end;
      }
      s.parts.push_back(body.substr(part_start, end - part_start));
      if (s.parts.size() > max_parts) {
        s.too_many = true;
        return s;
      }
    }
    s.found = true;
    if (close) {
      s.closed = true;
      return s;
    }
    std::size_t next = q;
    if (next < body.size() && body[next] == '\r') ++next;
    if (next < body.size() && body[next] == '\n') ++next;
    part_start = next;
    search = next;
  }
  return s;
}

void fill_derived(ResponsePart& p) {
  auto error = parse_error_body(p.body);
  p.error_code = std::move(error.code);
  p.error_message = std::move(error.message);
  p.error_inner_message = std::move(error.inner_message);
  if (auto e = find_header(p.headers, "OData-EntityId")) {
    p.entity_id = std::string(*e);
  } else if (auto l = find_header(p.headers, "Location")) {
    p.entity_id = std::string(*l);
  }
  if (!p.entity_id.empty() && p.entity_id.back() == ')') {
    const auto open = p.entity_id.rfind('(');
    if (open != std::string::npos) p.record_id = p.entity_id.substr(open + 1, p.entity_id.size() - open - 2);
  }
  if (auto r = find_header(p.headers, "Retry-After")) p.retry_after = parse_retry_after(*r);
}

/// `HTTP/1.1 204 No Content` -> 204; 0 when the line is not a status line.
int parse_status_line(sv line) {
  line = trim(line);
  if (!istarts_with(line, "HTTP/")) return 0;
  const auto sp = line.find(' ');
  if (sp == npos) return 0;
  sv rest = trim(line.substr(sp + 1));
  if (rest.size() < 3) return 0;
  int status = 0;
  for (int i = 0; i < 3; ++i) {
    if (rest[static_cast<std::size_t>(i)] < '0' || rest[static_cast<std::size_t>(i)] > '9') return 0;
    status = status * 10 + (rest[static_cast<std::size_t>(i)] - '0');
  }
  if (rest.size() > 3 && !is_blank(rest[3])) return 0;
  return status < 100 ? 0 : status;
}

class MultipartReader {
public:
  MultipartReader(const ReaderLimits& limits, ParsedBatch& out) : limits_(limits), out_(out) {}

  void read(sv body, sv boundary, std::size_t depth, bool in_change_set) {
    auto split = split_multipart(body, boundary, limits_.max_parts);
    if (!split.found) {
      fail("no multipart delimiter for boundary '" + std::string(boundary) + "'");
      return;
    }
    for (auto part : split.parts) {
      if (out_.parts.size() >= limits_.max_parts) {
        fail("more than " + std::to_string(limits_.max_parts) + " parts");
        return;
      }
      read_part(part, depth, in_change_set);
    }
    if (split.too_many) fail("more than " + std::to_string(limits_.max_parts) + " parts");
    if (!split.closed)
      fail(std::string(in_change_set || depth > 1 ? "change set" : "batch") +
           " body ends without its closing delimiter; the last part was dropped");
  }

private:
  void fail(std::string why) {
    if (out_.error.empty()) out_.error = std::move(why);
  }

  void read_part(sv part, std::size_t depth, bool in_change_set) {
    Headers mime;
    bool ok = true;
    const std::size_t pos = read_headers(part, 0, mime, limits_.max_headers_per_part, ok);
    if (!ok) {
      fail("too many headers in a part");
      return;
    }
    const sv content = part.substr(std::min(pos, part.size()));
    const auto ct = find_header(mime, "Content-Type");
    if (ct && istarts_with(trim(*ct), "multipart/")) {
      if (depth + 1 > limits_.max_nesting) {
        fail("multipart nested too deep");
        return;
      }
      const auto b = multipart_boundary(*ct);
      if (!b) {
        fail("nested multipart part without a valid boundary");
        return;
      }
      read(content, *b, depth + 1, true);
      return;
    }
    ResponsePart rp;
    rp.in_change_set = in_change_set;
    if (auto cid = find_header(mime, "Content-ID")) rp.content_id = std::string(trim(*cid));
    std::size_t p = 0;
    std::size_t line_start = 0;
    sv line;
    bool have_line = false;
    while (true) {
      line_start = p;
      if (!next_line(content, p, line)) break;
      if (!trim(line).empty()) {
        have_line = true;
        break;
      }
    }
    rp.status = have_line ? parse_status_line(line) : 0;
    if (rp.status != 0) {
      bool hok = true;
      const std::size_t body_at = read_headers(content, p, rp.headers, limits_.max_headers_per_part, hok);
      if (!hok) {
        fail("too many headers in a response");
        return;
      }
      sv body = content.substr(std::min(body_at, content.size()));
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
      rp.body = std::string(body);
      if (rp.content_id.empty()) {
        if (auto cid = find_header(rp.headers, "Content-ID")) rp.content_id = std::string(trim(*cid));
      }
    } else {
      rp.body = std::string(content.substr(have_line ? line_start : content.size()));
    }
    fill_derived(rp);
    out_.parts.push_back(std::move(rp));
  }

  const ReaderLimits& limits_;
  ParsedBatch& out_;
};

std::string scalar_text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return boost::json::serialize(v);
}

void read_json_batch(sv body, const ReaderLimits& limits, ParsedBatch& out) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 64;
  auto v = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec, {}, opt);
  if (ec) {
    out.error = "JSON batch response is not JSON: " + ec.message();
    return;
  }
  const auto* obj = v.if_object();
  const boost::json::value* responses = obj ? obj->if_contains("responses") : nullptr;
  if (!responses || !responses->is_array()) {
    out.error = "JSON batch response has no \"responses\" array";
    return;
  }
  out.is_batch = true;
  for (const auto& item : responses->get_array()) {
    if (out.parts.size() >= limits.max_parts) {
      out.error = "more than " + std::to_string(limits.max_parts) + " parts";
      return;
    }
    const auto* o = item.if_object();
    if (!o) {
      out.error = "a JSON batch response item is not an object";
      continue;
    }
    ResponsePart rp;
    if (const auto* id = o->if_contains("id")) rp.content_id = scalar_text(*id);
    if (const auto* g = o->if_contains("atomicityGroup")) rp.in_change_set = !g->is_null();
    if (const auto* st = o->if_contains("status")) {
      if (st->is_int64() && st->get_int64() >= 100 && st->get_int64() <= 999) {
        rp.status = static_cast<int>(st->get_int64());
      } else if (st->is_uint64() && st->get_uint64() >= 100 && st->get_uint64() <= 999) {
        rp.status = static_cast<int>(st->get_uint64());
      } else if (st->is_string()) {
        rp.status = parse_status_line("HTTP/1.1 " + std::string(st->get_string()));
      }
    }
    if (const auto* h = o->if_contains("headers"); h && h->is_object()) {
      for (const auto& kv : h->get_object()) {
        if (rp.headers.size() >= limits.max_headers_per_part) break;
        rp.headers.emplace_back(std::string(kv.key()), scalar_text(kv.value()));
      }
    }
    if (const auto* b = o->if_contains("body"); b && !b->is_null()) rp.body = scalar_text(*b);
    fill_derived(rp);
    out.parts.push_back(std::move(rp));
  }
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  sv rest = content_type;
  const auto semi = rest.find(';');
  const sv media = trim(rest.substr(0, semi));
  if (!istarts_with(media, "multipart/")) return std::nullopt;
  if (semi == npos) return std::nullopt;
  std::size_t i = semi + 1;
  while (i < rest.size()) {
    while (i < rest.size() && (is_blank(rest[i]) || rest[i] == ';')) ++i;
    const auto eq = rest.find('=', i);
    if (eq == npos) return std::nullopt;
    const sv name = trim(rest.substr(i, eq - i));
    i = eq + 1;
    while (i < rest.size() && is_blank(rest[i])) ++i;
    std::string value;
    if (i < rest.size() && rest[i] == '"') {
      ++i;
      while (i < rest.size() && rest[i] != '"') {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value.push_back(rest[i++]);
      }
      if (i < rest.size()) ++i;
    } else {
      while (i < rest.size() && rest[i] != ';' && !is_blank(rest[i])) value.push_back(rest[i++]);
    }
    if (iequals(name, "boundary")) {
      if (value.empty() || value.size() > 70 || value.back() == ' ') return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  const sv v = trim(value);
  if (v.empty() || v.size() > 9) return std::nullopt;
  long long n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return std::chrono::seconds(n);
}

ErrorBody parse_error_body(std::string_view body) {
  const sv b = trim(body);
  if (b.empty() || b.front() != '{') return {};
  boost::system::error_code ec;
  auto v = boost::json::parse(boost::json::string_view(b.data(), b.size()), ec);
  if (ec || !v.is_object()) return {};
  const auto* err = v.get_object().if_contains("error");
  if (!err || !err->is_object()) return {};
  const auto& e = err->get_object();
  ErrorBody out;
  if (const auto* c = e.if_contains("code"); c && !c->is_null()) out.code = scalar_text(*c);
  if (const auto* m = e.if_contains("message"); m && !m->is_null()) out.message = scalar_text(*m);
  if (const auto* inner = e.if_contains("innererror"); inner && inner->is_object()) {
    if (const auto* m = inner->get_object().if_contains("message"); m && !m->is_null())
      out.inner_message = scalar_text(*m);
  }
  return out;
}

ParsedBatch parse_batch_response(std::string_view content_type, std::string_view body, const ReaderLimits& limits) {
  ParsedBatch out;
  const sv media = trim(content_type.substr(0, content_type.find(';')));
  std::optional<std::string> boundary;
  bool json = false;
  if (istarts_with(media, "multipart/")) {
    boundary = multipart_boundary(content_type);
    if (!boundary) {
      out.error = "multipart Content-Type without a valid boundary: " + std::string(content_type.substr(0, 200));
      return out;
    }
  } else if (iequals(media, "application/json")) {
    json = true;
  } else {
    // No or another Content-Type: sniff (`--boundary` first line, or a JSON object).
    std::size_t pos = 0;
    sv line;
    while (next_line(body, pos, line)) {
      if (!trim(line).empty()) break;
    }
    const sv first = trim(line);
    if (first.size() > 2 && first.substr(0, 2) == "--" && first.size() <= 72) {
      sv b = first.substr(2);
      if (b.size() > 2 && b.substr(b.size() - 2) == "--") b.remove_suffix(2);
      boundary = std::string(b);
    } else if (!first.empty() && first.front() == '{') {
      json = true;
    } else {
      out.error = body.empty() ? "empty response body" : "response body is not a batch body";
      return out;
    }
  }
  if (json) {
    read_json_batch(body, limits, out);
    return out;
  }
  MultipartReader reader(limits, out);
  reader.read(body, *boundary, 1, false);
  out.is_batch = out.parts.size() > 0 || out.error.empty();
  return out;
}

}  // namespace ib::odata
