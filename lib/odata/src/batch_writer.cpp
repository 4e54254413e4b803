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

Result<EncodedBatch> encode_batch(const std::vector<EntityWrite>& requests, const BatchConfig& config,
                                  std::string_view batch_id) {
  if (requests.empty()) return Error{"a batch needs at least one request"};
  if (requests.size() > config.max_requests)
    return Error{std::to_string(requests.size()) + " requests exceed odata.max_requests = " +
                 std::to_string(config.max_requests)};
  auto service = split_service_url(config.service_url);
  if (!service) return service.error();

  EncodedBatch b;
  b.format = config.format;
  b.atomic = config.atomic;
  b.url = service->origin + service->path + "/$batch";
  b.target = service->path + "/$batch";
  std::vector<std::string> urls;
  urls.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!is_json_object(requests[i].body))
      return Error{"request " + std::to_string(i) + ": body is not a JSON object"};
    auto u = request_url(requests[i], config);
    if (!u) return Error{"request " + std::to_string(i) + ": " + u.error().message};
    urls.push_back(std::move(*u));
    b.content_ids.push_back(std::to_string(i + 1));
  }
  const std::string_view method = method_of(config.operation);
  const bool if_none_match = config.operation == Operation::create_if_absent;

  if (config.format == BatchFormat::json) {
    std::string& out = b.body;
    out = "{\"requests\":[";
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (i) out += ',';
      out += "{\"id\":" + json_string(b.content_ids[i]);
      if (config.atomic) out += ",\"atomicityGroup\":\"g1\"";
      out += ",\"method\":\"" + std::string(method) + "\",\"url\":" + json_string(urls[i]);
      out += ",\"headers\":{\"content-type\":\"application/json\"";
      if (if_none_match) out += ",\"if-none-match\":\"*\"";
      out += "},\"body\":";
      out += requests[i].body;
      out += '}';
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
      for (const auto& r : requests) {
        if (r.body.find("batch_" + id) != std::string::npos || r.body.find(changeset) != std::string::npos)
          clash = true;
      }
      if (!clash) break;
      if (!batch_id.empty() || tries > 8) return Error{"boundary occurs in a request body"};
      id = random_uuid();
      changeset = "changeset_" + random_uuid();
    }
    b.boundary = "batch_" + id;
    const std::string& part_boundary = config.atomic ? changeset : b.boundary;
    std::string& out = b.body;
    if (config.atomic) {
      out += "--" + b.boundary + std::string(kCrlf);
      out += "Content-Type: multipart/mixed; boundary=" + boundary_param(changeset) + std::string(kCrlf);
      out += kCrlf;
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
      out += "--" + part_boundary + std::string(kCrlf);
      out += "Content-Type: application/http\r\n";
      out += "Content-Transfer-Encoding: binary\r\n";
      out += "Content-ID: " + b.content_ids[i] + std::string(kCrlf);
      out += kCrlf;
      out += std::string(method) + " " + urls[i] + " HTTP/1.1\r\n";
      out += "Content-Type: application/json\r\n";
      if (if_none_match) out += "If-None-Match: *\r\n";
      out += kCrlf;
      out += requests[i].body;
      out += kCrlf;
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
