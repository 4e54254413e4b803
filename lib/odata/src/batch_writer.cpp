#include "odata/batch_writer.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <random>

namespace ib::odata {
namespace {

// A boundary that is a token goes out unquoted (what every server reads); a caller-chosen
// batch id with other characters keeps the quoted form RFC 2046 requires for it.
std::string boundary_param(const std::string& boundary) {
  constexpr std::string_view kToken = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
  if (boundary.find_first_not_of(kToken) == std::string::npos) return boundary;
  return "\"" + boundary + "\"";
}

constexpr std::string_view kCrlf = "\r\n";

std::string json_string(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

bool is_json_object(std::string_view body) {
  std::size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) ++i;
  std::size_t e = body.size();
  while (e > i && (body[e - 1] == ' ' || body[e - 1] == '\t' || body[e - 1] == '\r' || body[e - 1] == '\n')) --e;
  return e > i && body[i] == '{' && body[e - 1] == '}';
}

std::string_view method_of(Operation op) { return op == Operation::create ? "POST" : "PATCH"; }

struct ServiceUrl {
  std::string origin;  // scheme://authority
  std::string path;    // /api/data/v9.2 (no trailing slash; may be empty)
};

Result<ServiceUrl> split_service_url(const std::string& service_url) {
  auto u = boost::urls::parse_absolute_uri(service_url);
  if (!u || !u->has_authority()) return Error{"service_url is not an absolute http(s) URL: " + service_url};
  ServiceUrl s;
  s.origin = std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
  s.path = std::string(u->encoded_path());
  while (!s.path.empty() && s.path.back() == '/') s.path.pop_back();
  return s;
}

}  // namespace

std::string random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(a >> (8 * i));
    bytes[8 + i] = static_cast<unsigned char>(b >> (8 * i));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

Result<std::string> request_url(const EntityWrite& request, const BatchConfig& config) {
  if (request.entity_set.empty()) return Error{"entity set name is empty"};
  const bool keyed = config.operation != Operation::create;
  if (keyed && request.key.empty())
    return Error{std::string("operation ") + std::string(to_string(config.operation)) +
                 " needs an alternate key"};
  const std::string rel = entity_path(request.entity_set, keyed ? request.key : KeyValues{});
  if (config.url_form == UrlForm::relative) return Result<std::string>(boost::system::in_place_value, rel);
  auto s = split_service_url(config.service_url);
  if (!s) return s.error();
  std::string out = config.url_form == UrlForm::absolute_uri ? s->origin : std::string();
  out += s->path;
  out += '/';
  out += rel;
  return Result<std::string>(boost::system::in_place_value, std::move(out));
}

namespace {

struct Op {
  std::string id;
  std::string url;
  const std::string* body = nullptr;
};

void write_part(std::string& out, const std::string& boundary, const Op& op, std::string_view method,
                bool if_none_match) {
  out += "--" + boundary + std::string(kCrlf);
  out += "Content-Type: application/http\r\n";
  out += "Content-Transfer-Encoding: binary\r\n";
  out += "Content-ID: " + op.id + std::string(kCrlf);
  out += kCrlf;
  out += std::string(method) + " " + op.url + " HTTP/1.1\r\n";
  out += "Content-Type: application/json\r\n";
  if (if_none_match) out += "If-None-Match: *\r\n";
  out += kCrlf;
  out += *op.body;
  out += kCrlf;
}

void write_json_request(std::string& out, const Op& op, std::string_view group, std::string_view method,
                        bool if_none_match) {
  if (out.back() != '[') out += ',';
  out += "{\"id\":" + json_string(op.id);
  if (!group.empty()) out += ",\"atomicityGroup\":" + json_string(group);
  out += ",\"method\":\"" + std::string(method) + "\",\"url\":" + json_string(op.url);
  out += ",\"headers\":{\"content-type\":\"application/json\"";
  if (if_none_match) out += ",\"if-none-match\":\"*\"";
  out += "},\"body\":";
  out += *op.body;
  out += '}';
}

}  // namespace

Result<EncodedBatch> encode_batch(const std::vector<EntityWrite>& requests, const BatchConfig& config,
                                  std::string_view batch_id) {
  if (requests.empty()) return Error{"a batch needs at least one request"};
  std::size_t operations = 0;
  for (const auto& r : requests) operations += operation_count(r);
  if (operations > config.max_requests)
    return Error{std::to_string(operations) + " requests exceed odata.max_requests = " +
                 std::to_string(config.max_requests)};
  auto service = split_service_url(config.service_url);
  if (!service) return service.error();

  EncodedBatch b;
  b.format = config.format;
  b.atomic = config.atomic;
  b.url = service->origin + service->path + "/$batch";
  b.target = service->path + "/$batch";
  // ops[i]: request i, then its lines.
  std::vector<std::vector<Op>> ops(requests.size());
  bool any_lines = false;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (!is_json_object(r.body)) return Error{"request " + std::to_string(i) + ": body is not a JSON object"};
    auto u = request_url(r, config);
    if (!u) return Error{"request " + std::to_string(i) + ": " + u.error().message};
    b.content_ids.push_back(std::to_string(i + 1));
    ops[i].push_back(Op{b.content_ids.back(), std::move(*u), &r.body});
    b.line_ids.emplace_back();
    for (std::size_t k = 0; k < r.lines.size(); ++k) {
      const auto& line = r.lines[k];
      const std::string where = "request " + std::to_string(i) + " line " + std::to_string(k + 1);
      if (!line.lines.empty()) return Error{where + ": a line cannot have lines"};
      if (!is_json_object(line.body)) return Error{where + ": body is not a JSON object"};
      auto lu = request_url(line, config);
      if (!lu) return Error{where + ": " + lu.error().message};
      b.line_ids.back().push_back(b.content_ids.back() + "-" + std::to_string(k + 1));
      ops[i].push_back(Op{b.line_ids.back().back(), std::move(*lu), &line.body});
      any_lines = true;
    }
  }
  if (!any_lines) b.line_ids.clear();
  const std::string_view method = method_of(config.operation);
  const bool if_none_match = config.operation == Operation::create_if_absent;

  if (config.format == BatchFormat::json) {
    std::string& out = b.body;
    out = "{\"requests\":[";
    for (std::size_t i = 0; i < requests.size(); ++i) {
      // One atomicityGroup for everything (atomic), else one per request with lines.
      const std::string group = config.atomic ? "g1" : ops[i].size() > 1 ? "cs" + b.content_ids[i] : "";
      for (const auto& op : ops[i]) write_json_request(out, op, group, method, if_none_match);
    }
    out += "]}";
    b.content_type = "application/json";
    b.headers = {{"Content-Type", b.content_type},
                 {"OData-MaxVersion", "4.01"},
                 {"OData-Version", "4.01"},
                 {"Accept", "application/json"}};
  } else {
    // A random UUID makes a collision with body text practically impossible; check anyway.
    std::string id(batch_id.empty() ? random_uuid() : std::string(batch_id));
    std::string changeset = "changeset_" + (batch_id.empty() ? random_uuid() : std::string(batch_id));
    for (int tries = 0;; ++tries) {
      bool clash = false;
      for (const auto& request_ops : ops) {
        for (const auto& op : request_ops) {
          if (op.body->find("batch_" + id) != std::string::npos || op.body->find(changeset) != std::string::npos)
            clash = true;
        }
      }
      if (!clash) break;
      if (!batch_id.empty() || tries > 8) return Error{"boundary occurs in a request body"};
      id = random_uuid();
      changeset = "changeset_" + random_uuid();
    }
    b.boundary = "batch_" + id;
    std::string& out = b.body;
    auto open_changeset = [&](const std::string& cs) {
      out += "--" + b.boundary + std::string(kCrlf);
      out += "Content-Type: multipart/mixed; boundary=" + boundary_param(cs) + std::string(kCrlf);
      out += kCrlf;
    };
    if (config.atomic) open_changeset(changeset);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (config.atomic) {
        for (const auto& op : ops[i]) write_part(out, changeset, op, method, if_none_match);
      } else if (ops[i].size() > 1) {
        // An invoice with lines: its own change set, so it lands whole or not at all while
        // the other invoices of the batch stay independent of it.
        const std::string cs = changeset + "_" + b.content_ids[i];
        open_changeset(cs);
        for (const auto& op : ops[i]) write_part(out, cs, op, method, if_none_match);
        out += "--" + cs + "--" + std::string(kCrlf);
      } else {
        write_part(out, b.boundary, ops[i].front(), method, if_none_match);
      }
    }
    if (config.atomic) out += "--" + changeset + "--" + std::string(kCrlf);
    out += "--" + b.boundary + "--" + std::string(kCrlf);
    // Unquoted: the boundary is an RFC 2045 token (letters, digits, '_', '-'), and SAP CAP
    // refuses the quoted form, which RFC 2046 equally allows.
    b.content_type = "multipart/mixed; boundary=" + boundary_param(b.boundary);
    b.headers = {{"Content-Type", b.content_type},
                 {"OData-MaxVersion", "4.0"},
                 {"OData-Version", "4.0"},
                 // A multipart answer first: a server that negotiates the batch format
                 // from Accept (SAP CAP) otherwise answers an OData 4.01 JSON batch with
                 // ids of its own that name none of our requests. application/json stays
                 // acceptable (Microsoft's Dataverse examples send it).
                 {"Accept", "multipart/mixed, application/json;q=0.9"}};
  }
  if (config.continue_on_error) b.headers.emplace_back("Prefer", "odata.continue-on-error");
  return b;
}

}  // namespace ib::odata
