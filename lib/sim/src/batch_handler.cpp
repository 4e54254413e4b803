#include "batch_handler.hpp"

#include "fault_injector.hpp"
#include "json_text.hpp"
#include "record_store.hpp"
#include "seeded_random.hpp"
#include "service_limits.hpp"
#include "text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace ib::sim {

namespace json = boost::json;

namespace {

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 424: return "Failed Dependency";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

Response too_many_requests(ErrorStyle style, std::size_t max) {
  return error_response(style, 400, "0x80048d19",
                        "The number of requests in a batch exceeds the limit of " +
                            std::to_string(max) + ".");
}

void append_http_part(std::string& out, std::string_view boundary, const Response& r,
                      std::string_view content_id) {
  out += "--";
  out += boundary;
  out += "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n";
  if (!content_id.empty()) {
    out += "Content-ID: ";
    out += content_id;
    out += "\r\n";
  }
  out += "\r\nHTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason(r.status);
  out += "\r\n";
  for (const auto& [n, v] : r.headers) {
    out += n;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  out += r.body;
  out += "\r\n";
}

// ---- multipart batch --------------------------------------------------------------------

struct PartRequest {
  InnerRequest req;
  std::string content_id;
};

// A top-level part: one request, or a change set of several.
struct BatchItem {
  bool change_set = false;
  std::vector<PartRequest> reqs;
};

bool is_application_http(std::string_view content_type) {
  return iequals(content_type.substr(0, content_type.find(';')), "application/http");
}

// Parses every part of `outer` into `items` (views into `outer` and `nested`, which keeps
// the change sets' parses alive); an error answer names the first bad part.
std::optional<Response> parse_parts(ErrorStyle style, const MultipartParse& outer, std::size_t max_requests,
                                    std::vector<MultipartParse>& nested,
                                    std::vector<BatchItem>& items) {
  nested.reserve(outer.parts.size());
  for (std::size_t i = 0; i < outer.parts.size(); ++i) {
    const auto& part = outer.parts[i];
    const auto pct = find_header(part.headers, "Content-Type");
    auto bad = [&](const std::string& why) {
      return error_response(style, 400, "0x80048d19",
                            "Malformed $batch body: part " + std::to_string(i + 1) + ": " + why);
    };
    if (!pct) return bad("missing Content-Type");
    if (auto cs = multipart_boundary(*pct)) {
      nested.push_back(parse_multipart(part.body, *cs, max_requests + 1));
      const auto& inner = nested.back();
      if (!inner.error.empty()) return bad("change set: " + inner.error);
      BatchItem item;
      item.change_set = true;
      for (const auto& ip : inner.parts) {
        const auto ict = find_header(ip.headers, "Content-Type");
        if (!ict || !is_application_http(*ict))
          return bad("change set parts must be application/http (no nested change sets)");
        auto parsed = parse_inner_request(ip.body);
        if (!parsed.error.empty()) return bad("change set: " + parsed.error);
        if (parsed.request.method == "GET") return bad("a change set cannot contain GET");
        const auto cid = find_header(ip.headers, "Content-ID");
        item.reqs.push_back({parsed.request, std::string(cid ? *cid : "")});
      }
      items.push_back(std::move(item));
    } else if (is_application_http(*pct)) {
      auto parsed = parse_inner_request(part.body);
      if (!parsed.error.empty()) return bad(parsed.error);
      const auto cid = find_header(part.headers, "Content-ID");
      BatchItem item;
      item.reqs.push_back({parsed.request, std::string(cid ? *cid : "")});
      items.push_back(std::move(item));
    } else {
      return bad("Content-Type must be application/http or multipart/mixed");
    }
  }
  return std::nullopt;
}

// ---- JSON batch ---------------------------------------------------------------------------

struct JsonRequest {
  std::string id, method, url, group;
  std::vector<std::string> depends;
  std::vector<std::pair<std::string, std::string>> header_store;
  std::string body;

  // An InnerRequest viewing this one; `headers` holds the header views.
  InnerRequest inner(HeaderList& headers) const {
    InnerRequest ir;
    ir.method = method;
    ir.target = url;
    for (const auto& [k, v] : header_store) headers.emplace_back(k, v);
    ir.headers = headers;
    ir.body = body;
    return ir;
  }
};

// Parses `{"requests":[...]}` into `reqs`: ids unique, groups adjacent and without GET,
// dependsOn naming earlier requests or groups.
std::optional<Response> parse_json_requests(ErrorStyle style, std::string_view body, std::size_t max_requests,
                                            std::vector<JsonRequest>& reqs) {
  auto bad = [style](const std::string& why) {
    return error_response(style, 400, "0x80048d19", "Malformed JSON batch: " + why);
  };
  boost::system::error_code ec;
  auto doc = parse_exact(body, ec);  // a request body's decimals keep their text
  if (ec) return bad(ec.message());
  if (!doc.is_object() || !doc.get_object().contains("requests") || !doc.at("requests").is_array())
    return bad("expected {\"requests\":[...]}");
  const auto& arr = doc.at("requests").get_array();
  if (arr.size() > max_requests) return too_many_requests(style, max_requests);
  std::map<std::string, std::size_t> index;
  std::set<std::string> closed_groups;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto where = "requests[" + std::to_string(i) + "]: ";
    if (!arr[i].is_object()) return bad(where + "not an object");
    const auto& o = arr[i].get_object();
    JsonRequest r;
    auto str = [&](std::string_view k, std::string& dst, bool required) {
      auto it = o.find(k);
      if (it == o.end()) return !required;
      if (!it->value().is_string()) return false;
      dst = std::string(it->value().get_string());
      return true;
    };
    if (!str("id", r.id, true) || r.id.empty()) return bad(where + "\"id\" must be a non-empty string");
    if (!str("method", r.method, true)) return bad(where + "\"method\" must be a string");
    if (!str("url", r.url, true)) return bad(where + "\"url\" must be a string");
    if (!str("atomicityGroup", r.group, false)) return bad(where + "\"atomicityGroup\" must be a string");
    for (auto& c : r.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (index.count(r.id)) return bad(where + "duplicate id '" + r.id + "'");
    if (auto it = o.find("headers"); it != o.end()) {
      if (!it->value().is_object()) return bad(where + "\"headers\" must be an object");
      for (const auto& [hk, hv] : it->value().get_object()) {
        if (!hv.is_string()) return bad(where + "header values must be strings");
        r.header_store.emplace_back(std::string(hk), std::string(hv.get_string()));
      }
    }
    if (auto it = o.find("body"); it != o.end() && !it->value().is_null())
      r.body = it->value().is_string() ? std::string(it->value().get_string()) : dump(it->value());
    if (auto it = o.find("dependsOn"); it != o.end()) {
      if (!it->value().is_array()) return bad(where + "\"dependsOn\" must be an array");
      for (const auto& d : it->value().get_array()) {
        if (!d.is_string()) return bad(where + "\"dependsOn\" entries must be strings");
        const std::string dep(d.get_string());
        bool known = index.count(dep) > 0;
        for (const auto& prev : reqs) known = known || prev.group == dep;
        if (!known) return bad(where + "dependsOn '" + dep + "' names no earlier request or group");
        r.depends.push_back(dep);
      }
    }
    if (!r.group.empty()) {
      if (closed_groups.count(r.group)) return bad(where + "atomicityGroup '" + r.group + "' is not adjacent");
      if (!reqs.empty() && !reqs.back().group.empty() && reqs.back().group != r.group) closed_groups.insert(reqs.back().group);
      if (r.method == "GET") return bad(where + "an atomicity group cannot contain GET");
    } else if (!reqs.empty() && !reqs.back().group.empty()) {
      closed_groups.insert(reqs.back().group);
    }
    index[r.id] = reqs.size();
    reqs.push_back(std::move(r));
  }
  return std::nullopt;
}

json::object response_json(const std::string& id, const std::string& group, const Response& res) {
  json::object ro{{"id", id}, {"status", res.status}};
  if (!group.empty()) ro["atomicityGroup"] = group;
  json::object hs;
  for (const auto& [k, v] : res.headers) hs[k] = v;
  ro["headers"] = std::move(hs);
  if (!res.body.empty()) {
    boost::system::error_code pec;
    auto bv = parse_exact(res.body, pec);
    ro["body"] = pec ? json::value(json::string(res.body)) : std::move(bv);
  }
  return ro;
}

}  // namespace

BatchHandler::BatchHandler(const SimOptions& options, RecordStore& store, FaultInjector& faults,
                           ServiceLimits& limits, SeededRandom& random, SimStats& stats)
    : opt_(options), store_(store), faults_(faults), limits_(limits), random_(random), st_(stats) {}

Outcome BatchHandler::handle(const RequestView& req) {
  if (req.method != "POST") return {error_response(opt_.error_style, 405, "0x80060888", "$batch accepts POST only.")};
  const auto prefer = header_or(req.headers, "Prefer");
  const bool coe = icontains(prefer, "odata.continue-on-error") && !icontains(prefer, "continue-on-error=false");
  const auto ct = header_or(req.headers, "Content-Type");
  return iequals(std::string_view(ct).substr(0, std::min<std::size_t>(ct.size(), 16)), "application/json")
             ? run_json(req, coe)
             : run_multipart(req, coe);
}

Response BatchHandler::run_operation(const InnerRequest& r, double& delay_ms) {
  delay_ms += faults_.operation_latency_ms();
  auto res = [&] {
    if (auto err = faults_.operation_error()) return std::move(*err);
    std::string_view rel, query;
    if (!resolve_target(opt_.service_root, r.target, rel, query))
      return error_response(opt_.error_style, 404, "0x80060888", "Resource not found for the segment '" + std::string(r.target) + "'.");
    auto done = store_.execute(r.method, rel, query, r.headers, r.body);
    faults_.operation_applied_then_failed(r.method, done);
    return done;
  }();
  count(res.status);
  return res;
}

std::pair<std::vector<Response>, std::size_t> BatchHandler::run_atomic(
    std::size_t count, const std::function<Response(std::size_t)>& run_member) {
  store_.begin_atomic();
  std::vector<Response> responses;
  std::size_t failed = count;
  for (std::size_t i = 0; i < count; ++i) {
    responses.push_back(run_member(i));
    if (responses.back().status >= 400) {
      failed = i;
      break;
    }
  }
  store_.end_atomic(failed == count);
  if (failed < count) ++st_.rolled_back_change_sets;
  return {std::move(responses), failed};
}

void BatchHandler::admit_batch(std::size_t operations) {
  ++st_.batches;
  ++st_.batch_sizes[operations];
  limits_.charge(operations, true);
}

int BatchHandler::batch_status(int failed_status, bool continue_on_error) const {
  return failed_status && !continue_on_error && !opt_.batch_error_status_200 ? failed_status : 200;
}

Outcome BatchHandler::run_multipart(const RequestView& req, bool continue_on_error) {
  Outcome out;
  const auto ct = find_header(req.headers, "Content-Type");
  const auto boundary = ct ? multipart_boundary(*ct) : std::nullopt;
  if (!boundary) {
    out.response = error_response(opt_.error_style, 400, "0x80048d19",
                                  "A $batch request needs Content-Type: multipart/mixed with a boundary, or application/json.");
    return out;
  }
  const auto outer = parse_multipart(req.body, *boundary, opt_.max_batch_requests + 1);
  if (!outer.error.empty()) {
    out.response = outer.error.find("too many parts") != std::string::npos
                       ? too_many_requests(opt_.error_style, opt_.max_batch_requests)
                       : error_response(opt_.error_style, 400, "0x80048d19", "Malformed $batch body: " + outer.error);
    return out;
  }
  // Parse everything before executing anything: a malformed batch changes nothing.
  std::vector<BatchItem> items;
  std::vector<MultipartParse> nested;  // keeps nested parse results alive (views)
  if (auto err = parse_parts(opt_.error_style, outer, opt_.max_batch_requests, nested, items)) {
    out.response = std::move(*err);
    return out;
  }
  std::size_t total = 0;
  for (const auto& item : items) total += item.reqs.size();
  if (total > opt_.max_batch_requests) {
    out.response = too_many_requests(opt_.error_style, opt_.max_batch_requests);
    return out;
  }
  admit_batch(total);

  const std::string rb = "batchresponse_" + random_.guid();
  std::string body;
  body.reserve(total * 320 + 64);
  int failed_status = 0;
  for (auto& item : items) {
    if (!item.change_set) {
      auto res = run_operation(item.reqs[0].req, out.delay_ms);
      append_http_part(body, rb, res, item.reqs[0].content_id);
      if (res.status >= 400 && !failed_status) failed_status = res.status;
      if (res.status >= 400 && !continue_on_error) break;
      continue;
    }
    auto [responses, failed] = run_atomic(item.reqs.size(), [&](std::size_t i) {
      return run_operation(item.reqs[i].req, out.delay_ms);
    });
    if (failed < item.reqs.size()) {
      // A failed change set answers with one response: the failing request's.
      append_http_part(body, rb, responses[failed], item.reqs[failed].content_id);
      if (!failed_status) failed_status = responses[failed].status;
      if (!continue_on_error) break;
      continue;
    }
    const std::string cb = "changesetresponse_" + random_.guid();
    body += "--" + rb + "\r\nContent-Type: multipart/mixed; boundary=" + cb + "\r\n\r\n";
    for (std::size_t i = 0; i < responses.size(); ++i)
      append_http_part(body, cb, responses[i], item.reqs[i].content_id);
    body += "--" + cb + "--\r\n";
  }
  body += "--" + rb + "--\r\n";
  out.response.status = batch_status(failed_status, continue_on_error);
  out.response.headers.emplace_back("Content-Type", "multipart/mixed; boundary=" + rb);
  out.response.headers.emplace_back("OData-Version", "4.0");
  if (continue_on_error) out.response.headers.emplace_back("Preference-Applied", "odata.continue-on-error");
  out.response.body = std::move(body);
  return out;
}

Outcome BatchHandler::run_json(const RequestView& req, bool continue_on_error) {
  Outcome out;
  std::vector<JsonRequest> reqs;
  if (auto err = parse_json_requests(opt_.error_style, req.body, opt_.max_batch_requests, reqs)) {
    out.response = std::move(*err);
    return out;
  }
  admit_batch(reqs.size());

  std::map<std::string, bool> ok;  // id or group -> succeeded
  json::array responses;
  int failed_status = 0;
  const auto failed_dependency = error_response(opt_.error_style, 424, "", "Failed Dependency");
  // Runs one request unless a request or group it depends on failed (then 424).
  auto run = [&](const JsonRequest& r) {
    Response res;
    bool deps_ok = true;
    for (const auto& d : r.depends)
      if (!ok.count(d) || !ok[d]) deps_ok = false;
    if (!deps_ok) {
      res = failed_dependency;
      count(res.status);
    } else {
      HeaderList hl;
      res = run_operation(r.inner(hl), out.delay_ms);
    }
    ok[r.id] = res.status < 400;
    return res;
  };
  std::size_t i = 0;
  bool stop = false;
  while (i < reqs.size() && !stop) {
    if (reqs[i].group.empty()) {
      auto res = run(reqs[i]);
      responses.push_back(response_json(reqs[i].id, "", res));
      if (res.status >= 400) {
        if (!failed_status) failed_status = res.status;
        if (!continue_on_error) stop = true;
      }
      ++i;
      continue;
    }
    const auto group = reqs[i].group;
    std::size_t end = i;
    while (end < reqs.size() && reqs[end].group == group) ++end;
    auto [results, failed] = run_atomic(end - i, [&](std::size_t j) { return run(reqs[i + j]); });
    ok[group] = failed == end - i;
    if (failed < end - i) {
      // Every member answers: the failing one with its error, the others 424.
      for (std::size_t j = i; j < end; ++j) {
        ok[reqs[j].id] = false;
        responses.push_back(response_json(reqs[j].id, group, j - i == failed ? results[failed] : failed_dependency));
      }
      if (!failed_status) failed_status = results[failed].status;
      if (!continue_on_error) stop = true;
    } else {
      for (std::size_t j = i; j < end; ++j) responses.push_back(response_json(reqs[j].id, group, results[j - i]));
    }
    i = end;
  }
  out.response = json_response(200, dump(json::object{{"responses", std::move(responses)}}));
  out.response.status = batch_status(failed_status, continue_on_error);
  if (continue_on_error) out.response.headers.emplace_back("Preference-Applied", "odata.continue-on-error");
  return out;
}

}  // namespace ib::sim
