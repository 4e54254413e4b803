#include "service.hpp"

#include "odata_query.hpp"

#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ib::sim {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kDuplicateCode = "0x80040237";
constexpr std::string_view kDuplicateMessage = "A record with matching key values already exists.";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

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

// Boost.JSON writes doubles as 1.25E1; Dataverse writes decimals as 12.5. Shortest
// round-trip text via to_chars keeps amounts readable and exact.
void dump_to(const json::value& v, std::string& out);

void dump_to(const json::object& o, std::string& out) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, x] : o) {
    if (!first) out.push_back(',');
    first = false;
    out += json::serialize(json::string(k));
    out.push_back(':');
    dump_to(x, out);
  }
  out.push_back('}');
}

void dump_to(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: dump_to(v.get_object(), out); return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        dump_to(x, out);
      }
      out.push_back(']');
      return;
    }
    case json::kind::double_: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
      if (ec == std::errc() && std::isfinite(v.get_double())) out.append(buf, p);
      else out += "null";
      return;
    }
    default: out += json::serialize(v); return;
  }
}

std::string dump(const json::object& o) {
  std::string s;
  dump_to(o, s);
  return s;
}

std::string dump(const json::value& v) {
  std::string s;
  dump_to(v, s);
  return s;
}

std::string error_body(std::string_view code, std::string_view message) {
  json::object err{{"code", code}, {"message", message}};
  return json::serialize(json::object{{"error", std::move(err)}});
}

Response error_response(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; odata.metadata=minimal");
  r.headers.emplace_back("OData-Version", "4.0");
  r.body = error_body(code, message);
  return r;
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; odata.metadata=minimal");
  r.headers.emplace_back("OData-Version", "4.0");
  r.body = std::move(body);
  return r;
}

bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  const int m = (s[5] - '0') * 10 + (s[6] - '0');
  const int d = (s[8] - '0') * 10 + (s[9] - '0');
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

std::string header_or(const HeaderList& h, std::string_view name, std::string_view dflt = {}) {
  auto v = find_header(h, name);
  return std::string(v ? *v : dflt);
}

// Transparent hashing so string_view lookups need no temporary std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = boost::unordered_flat_map<std::string, V, StringHash, std::equal_to<>>;

struct Record {
  std::string id;
  std::vector<std::string> key;
  json::object props;  // without the id property
  std::uint64_t seq = 0;
  std::uint64_t version = 1;
  // When the record was created (or loaded): benchmarks measure latency to D365 from it.
  std::chrono::system_clock::time_point created_at = std::chrono::system_clock::now();
};

struct EntitySet {
  EntitySetOptions opt;
  StringMap<PropertyType> types;
  StringMap<Record> by_id;
  StringMap<std::string> by_key;  // joined key -> id
  StringMap<std::uint32_t> creates_per_key;
};

std::string join_key(const std::vector<std::string>& values) {
  std::string k;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) k.push_back('\x1f');
    k += values[i];
  }
  return k;
}

// One undoable change inside a change set.
struct Undo {
  enum class Kind { Created, Updated, Deleted } kind;
  EntitySet* set;
  Record before;  // Updated/Deleted: the old record; Created: the new record (for its id/key)
};

struct BatchItemRequest {
  InnerRequest req;
  std::string content_id;
};

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

struct Service::State {
  mutable std::mutex mu;
  SimOptions opt;
  std::uint16_t port = 0;
  std::vector<std::unique_ptr<EntitySet>> sets;
  std::mt19937_64 rng;
  std::uint64_t seq = 0;
  SimStats st;
  std::map<int, std::uint64_t> ops_by_status;

  // Service protection state.
  struct Usage {
    Clock::time_point t;
    std::uint64_t requests;
    double exec_ms;
  };
  std::deque<Usage> window;
  std::uint64_t window_requests = 0;
  double window_exec_ms = 0;
  Clock::time_point throttled_until{};
  std::string throttle_code;
  std::string throttle_message;
  std::uint32_t in_flight = 0;

  StringMap<Clock::time_point> tokens;

  // Per-request context while processing.
  std::string base;  // scheme://host + service_root
  std::vector<Undo>* undo = nullptr;

  explicit State(SimOptions o) : opt(std::move(o)), rng(opt.seed) { build_sets(); }

  void build_sets() {
    sets.clear();
    for (const auto& e : opt.entity_sets) {
      auto set = std::make_unique<EntitySet>();
      set->opt = e;
      for (const auto& [n, t] : e.properties) set->types[n] = t;
      for (const auto& k : e.key_properties) set->types.emplace(k, PropertyType::String);
      sets.push_back(std::move(set));
    }
  }

  EntitySet* find_set(std::string_view name) {
    for (auto& s : sets)
      if (s->opt.name == name) return s.get();
    return nullptr;
  }

  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng); }
  bool chance(double p) { return p > 0 && uniform() < p; }
  double latency(double fixed, double jitter) {
    return fixed + (jitter > 0 ? std::uniform_real_distribution<double>(0, jitter)(rng) : 0.0);
  }
  int fault_status() {
    const auto& s = opt.faults.error_statuses;
    return s[std::uniform_int_distribution<std::size_t>(0, s.size() - 1)(rng)];
  }

  std::string new_guid() {
    const std::uint64_t a = rng(), b = rng();
    char buf[37];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx",
                  static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                  static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(((b >> 48) & 0x3fff) | 0x8000),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return buf;
  }

  std::string entity_url(const EntitySet& set, const std::string& id) const {
    return base + "/" + set.opt.name + "(" + id + ")";
  }

  json::object to_json(const EntitySet& set, const Record& r, const std::vector<std::string>* select,
                       bool annotations) const {
    json::object o;
    if (annotations) {
      o["@odata.context"] = base + "/$metadata#" + set.opt.name + "/$entity";
      o["@odata.etag"] = "W/\"" + std::to_string(r.version) + "\"";
    }
    auto want = [&](std::string_view n) {
      return !select || std::find(select->begin(), select->end(), n) != select->end();
    };
    for (const auto& [k, v] : r.props)
      if (want(k)) o[k] = v;
    o[set.opt.id_property] = r.id;
    return o;
  }

  // ---- validation ------------------------------------------------------------------

  // Checks body properties against the set's schema; returns an error response or nullopt.
  std::optional<Response> validate(const EntitySet& set, const json::object& body) {
    for (const auto& [k, v] : body) {
      if (k.find('@') != json::string::npos) continue;  // annotations, @odata.bind
      if (k == set.opt.id_property) {
        if (!v.is_string() || !is_guid(v.get_string()))
          return error_response(400, "0x80048d19",
                                "Error identified in Payload provided by the user for Entity :'" +
                                    set.opt.name + "': '" + std::string(k) + "' must be a GUID");
        continue;
      }
      auto it = set.types.find(std::string_view(k));
      if (it == set.types.end()) {
        if (set.opt.allow_unknown_properties) continue;
        return error_response(400, "0x80060888",
                              "Invalid property '" + std::string(k) + "' was found in entity '" +
                                  set.opt.name + "'.");
      }
      if (v.is_null()) continue;
      bool ok = true;
      const char* want = "";
      switch (it->second) {
        case PropertyType::String: ok = v.is_string(); want = "a string"; break;
        case PropertyType::Decimal: ok = v.is_number(); want = "a decimal number"; break;
        case PropertyType::Integer: ok = v.is_int64() || v.is_uint64(); want = "an integer"; break;
        case PropertyType::Boolean: ok = v.is_bool(); want = "true or false"; break;
        case PropertyType::Date: ok = v.is_string() && is_date(v.get_string()); want = "a date YYYY-MM-DD"; break;
        case PropertyType::DateTimeOffset:
          ok = v.is_string() && v.get_string().size() >= 19 && is_date(v.get_string().subview(0, 10)) &&
               v.get_string()[10] == 'T';
          want = "a date-time (ISO 8601)";
          break;
        case PropertyType::Guid: ok = v.is_string() && is_guid(v.get_string()); want = "a GUID"; break;
      }
      if (!ok)
        return error_response(400, "0x80048d19",
                              "Error identified in Payload provided by the user for Entity :'" +
                                  set.opt.name + "': property '" + std::string(k) + "' must be " +
                                  want);
    }
    return std::nullopt;
  }

  // ---- record operations ------------------------------------------------------------

  Response duplicate() {
    ++st.duplicate_rejections;
    return error_response(opt.duplicate_status, kDuplicateCode, kDuplicateMessage);
  }

  Response not_found(const EntitySet& set, std::string_view what) {
    std::string shown(what);
    std::replace(shown.begin(), shown.end(), '\x1f', ',');
    return error_response(404, "0x80040217",
                          set.opt.name + " With Ids = " + shown + " Does Not Exist");
  }

  Response created(const EntitySet& set, const Record& r, bool representation) {
    if (representation) {
      auto res = json_response(201, dump(to_json(set, r, nullptr, true)));
      res.headers.emplace_back("Preference-Applied", "return=representation");
      res.headers.emplace_back("OData-EntityId", entity_url(set, r.id));
      res.headers.emplace_back("Location", entity_url(set, r.id));
      return res;
    }
    Response res;
    res.status = 204;
    res.headers.emplace_back("OData-Version", "4.0");
    res.headers.emplace_back("OData-EntityId", entity_url(set, r.id));
    res.headers.emplace_back("Location", entity_url(set, r.id));
    return res;
  }

  // Inserts a validated record. `body` holds the properties; `id` empty = generate.
  Response insert(EntitySet& set, json::object body, std::string id, bool representation,
                  bool count_stats) {
    auto idp = body.find(set.opt.id_property);
    if (idp != body.end()) {
      if (id.empty()) id = lower(idp->value().get_string());
      body.erase(idp);
    }
    std::vector<std::string> key;
    key.reserve(set.opt.key_properties.size());
    for (const auto& kp : set.opt.key_properties) {
      auto it = body.find(kp);
      if (it == body.end() || !it->value().is_string())
        return error_response(400, "0x80048d19",
                              "Error identified in Payload provided by the user for Entity :'" +
                                  set.opt.name + "': alternate key property '" + kp +
                                  "' is required (a string)");
      key.emplace_back(it->value().get_string());
    }
    if (id.empty()) id = new_guid();
    if (set.by_id.contains(id)) return duplicate();
    auto joined = join_key(key);
    if (set.by_key.contains(joined)) return duplicate();
    Record r;
    r.id = id;
    r.key = std::move(key);
    r.props = std::move(body);
    r.seq = ++seq;
    set.by_key.emplace(joined, id);
    auto [it, ok] = set.by_id.emplace(id, std::move(r));
    if (count_stats) {
      ++set.creates_per_key[joined];
      ++st.creates;
    }
    if (undo) undo->push_back(Undo{Undo::Kind::Created, &set, it->second});
    return created(set, it->second, representation);
  }

  // Applies `body` onto an existing record (PATCH update).
  Response update(EntitySet& set, Record& r, const json::object& body, bool representation) {
    Record before = r;
    std::vector<std::string> key = r.key;
    for (std::size_t i = 0; i < set.opt.key_properties.size(); ++i) {
      auto it = body.find(set.opt.key_properties[i]);
      if (it == body.end()) continue;
      if (!it->value().is_string())
        return error_response(400, "0x80048d19", "alternate key property '" +
                                                     set.opt.key_properties[i] + "' must be a string");
      key[i] = std::string(it->value().get_string());
    }
    const auto old_joined = join_key(r.key);
    const auto new_joined = join_key(key);
    if (new_joined != old_joined) {
      if (set.by_key.contains(new_joined)) return duplicate();
      set.by_key.erase(old_joined);
      set.by_key.emplace(new_joined, r.id);
      r.key = key;
    }
    for (const auto& [k, v] : body)
      if (k != set.opt.id_property) r.props[k] = v;
    ++r.version;
    ++st.updates;
    if (undo) undo->push_back(Undo{Undo::Kind::Updated, &set, std::move(before)});
    if (representation) {
      auto res = json_response(200, dump(to_json(set, r, nullptr, true)));
      res.headers.emplace_back("Preference-Applied", "return=representation");
      res.headers.emplace_back("OData-EntityId", entity_url(set, r.id));
      return res;
    }
    Response res;
    res.status = 204;
    res.headers.emplace_back("OData-Version", "4.0");
    res.headers.emplace_back("OData-EntityId", entity_url(set, r.id));
    return res;
  }

  void erase(EntitySet& set, const std::string& id) {
    auto it = set.by_id.find(id);
    if (it == set.by_id.end()) return;
    set.by_key.erase(join_key(it->second.key));
    set.by_id.erase(it);
  }

  void rollback(std::vector<Undo>& log) {
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      auto& set = *it->set;
      switch (it->kind) {
        case Undo::Kind::Created: {
          erase(set, it->before.id);
          const auto joined = join_key(it->before.key);
          auto c = set.creates_per_key.find(joined);
          if (c != set.creates_per_key.end() && --c->second == 0) set.creates_per_key.erase(c);
          --st.creates;
          break;
        }
        case Undo::Kind::Updated:
          erase(set, it->before.id);
          set.by_key.emplace(join_key(it->before.key), it->before.id);
          set.by_id.emplace(it->before.id, it->before);
          --st.updates;
          break;
        case Undo::Kind::Deleted:
          set.by_key.emplace(join_key(it->before.key), it->before.id);
          set.by_id.emplace(it->before.id, it->before);
          --st.deletes;
          break;
      }
    }
    log.clear();
  }

  // ---- one OData operation ----------------------------------------------------------

  // `path` is relative to the service root (no leading '/'), query not decoded.
  Response execute(std::string_view method, std::string_view path, std::string_view query,
                   const HeaderList& headers, std::string_view body) {
    ++st.operations;
    const auto decoded = percent_decode(path, false);
    ResourcePath rp;
    if (auto err = parse_resource_path(decoded, rp); !err.empty())
      return error_response(400, "0x80060888", "Resource not found for the segment: " + err);
    if (rp.entity_set == "$batch") return error_response(400, "0x80060888", "A batch cannot contain another batch.");
    EntitySet* set = find_set(rp.entity_set);
    if (!set)
      return error_response(404, "0x80060888",
                            "Resource not found for the segment '" + rp.entity_set + "'.");
    const bool representation = icontains(header_or(headers, "Prefer"), "return=representation");

    // Locate the addressed record (by id or alternate key) when there is a key predicate.
    Record* rec = nullptr;
    std::string by_id;
    std::vector<std::string> key_values;
    if (rp.has_key) {
      if (rp.key.size() == 1 && rp.key[0].first.empty() && is_guid(rp.key[0].second) && rp.key_is_guid) {
        by_id = lower(rp.key[0].second);
        auto it = set->by_id.find(by_id);
        if (it != set->by_id.end()) rec = &it->second;
      } else if (rp.key.size() == 1 && rp.key[0].first == set->opt.id_property) {
        by_id = lower(rp.key[0].second);
        auto it = set->by_id.find(by_id);
        if (it != set->by_id.end()) rec = &it->second;
      } else {
        key_values.resize(set->opt.key_properties.size());
        std::vector<bool> seen(key_values.size(), false);
        for (const auto& [n, v] : rp.key) {
          std::size_t i = 0;
          if (n.empty() && set->opt.key_properties.size() == 1) i = 0;
          else {
            for (i = 0; i < set->opt.key_properties.size(); ++i)
              if (set->opt.key_properties[i] == n) break;
            if (i == set->opt.key_properties.size())
              return error_response(400, "0x80060888",
                                    "The key '" + n + "' is not an alternate key of " + set->opt.name + ".");
          }
          key_values[i] = v;
          seen[i] = true;
        }
        if (std::find(seen.begin(), seen.end(), false) != seen.end())
          return error_response(400, "0x80060888",
                                "The key predicate must name every alternate key property of " +
                                    set->opt.name + ".");
        auto k = set->by_key.find(join_key(key_values));
        if (k != set->by_key.end()) rec = &set->by_id.find(k->second)->second;
      }
    }

    if (method == "GET") {
      if (rp.count_segment) {
        Response r;
        r.status = 200;
        r.headers.emplace_back("Content-Type", "text/plain");
        r.body = std::to_string(set->by_id.size());
        return r;
      }
      QueryOptions q;
      if (auto err = parse_query_options(query, q); !err.empty())
        return error_response(400, "0x80060888", err);
      if (rp.has_key) {
        if (!rec) return not_found(*set, by_id.empty() ? join_key(key_values) : by_id);
        return json_response(200, dump(to_json(*set, *rec, q.select ? &*q.select : nullptr, true)));
      }
      return collection(*set, q);
    }
    if (method == "POST") {
      if (rp.has_key) return error_response(405, "0x80060888", "POST is not allowed on a single record.");
      json::object obj;
      if (auto err = parse_body(*set, body, obj)) return *err;
      if (auto err = validate(*set, obj)) return *err;
      return insert(*set, std::move(obj), {}, representation, true);
    }
    if (method == "PATCH" || method == "PUT") {
      if (!rp.has_key) return error_response(405, "0x80060888", "PATCH needs a key.");
      json::object obj;
      if (auto err = parse_body(*set, body, obj)) return *err;
      if (auto err = validate(*set, obj)) return *err;
      const auto if_match = find_header(headers, "If-Match");
      const auto if_none = find_header(headers, "If-None-Match");
      if (rec) {
        if (if_none && *if_none == "*") return duplicate();
        if (if_match && *if_match != "*" &&
            *if_match != "W/\"" + std::to_string(rec->version) + "\"")
          return error_response(412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.");
        return update(*set, *rec, obj, representation);
      }
      if (if_match) return not_found(*set, by_id.empty() ? join_key(key_values) : by_id);
      // Upsert create: the URL's key wins over the body's.
      for (std::size_t i = 0; i < key_values.size(); ++i)
        obj[set->opt.key_properties[i]] = key_values[i];
      return insert(*set, std::move(obj), by_id, representation, true);
    }
    if (method == "DELETE") {
      if (!rp.has_key) return error_response(405, "0x80060888", "DELETE needs a key.");
      if (!rec) return not_found(*set, by_id.empty() ? join_key(key_values) : by_id);
      if (undo) undo->push_back(Undo{Undo::Kind::Deleted, set, *rec});
      erase(*set, rec->id);
      ++st.deletes;
      Response r;
      r.status = 204;
      r.headers.emplace_back("OData-Version", "4.0");
      return r;
    }
    return error_response(405, "0x80060888", "Method " + std::string(method) + " is not supported.");
  }

  std::optional<Response> parse_body(const EntitySet& set, std::string_view body, json::object& out) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
      return error_response(400, "0x80048d19",
                            "Error identified in Payload provided by the user for Entity :'" +
                                set.opt.name + "': the body must be a JSON object" +
                                (ec ? " (" + ec.message() + ")" : std::string()));
    out = std::move(v.get_object());
    return std::nullopt;
  }

  Response collection(EntitySet& set, const QueryOptions& q) {
    std::vector<const Record*> hits;
    for (const auto& [id, r] : set.by_id) {
      if (q.filter && !q.filter->matches([&](std::string_view prop) -> const json::value* {
            static const json::value null_value;
            thread_local json::value id_value;
            if (prop == set.opt.id_property) {
              id_value = json::string(r.id);
              return &id_value;
            }
            auto it = r.props.find(prop);
            return it == r.props.end() ? &null_value : &it->value();
          }))
        continue;
      hits.push_back(&r);
    }
    std::sort(hits.begin(), hits.end(), [](const Record* a, const Record* b) { return a->seq < b->seq; });
    const auto total = hits.size();
    if (q.skip) hits.erase(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(std::min(*q.skip, hits.size())));
    if (q.top && hits.size() > *q.top) hits.resize(*q.top);
    json::object o;
    o["@odata.context"] = base + "/$metadata#" + set.opt.name;
    if (q.count) o["@odata.count"] = total;
    json::array values;
    for (const auto* r : hits) values.push_back(to_json(set, *r, q.select ? &*q.select : nullptr, false));
    o["value"] = std::move(values);
    return json_response(200, dump(o));
  }

  // ---- service protection limits -----------------------------------------------------

  void prune(Clock::time_point now) {
    const auto span = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(opt.limits.window_seconds));
    while (!window.empty() && window.front().t + span <= now) {
      window_requests -= window.front().requests;
      window_exec_ms -= window.front().exec_ms;
      window.pop_front();
    }
    if (window.empty()) window_exec_ms = 0;
  }

  Response throttle(std::string_view code, std::string message, double retry_seconds) {
    ++st.throttled;
    auto r = error_response(429, code, message);
    const auto secs = std::max<long long>(1, static_cast<long long>(std::ceil(retry_seconds)));
    r.headers.emplace_back("Retry-After", std::to_string(secs));
    return r;
  }

  std::optional<Response> check_limits(Clock::time_point now) {
    const auto& l = opt.limits;
    if (!l.enabled) return std::nullopt;
    prune(now);
    if (now < throttled_until) {
      // Sending while throttled extends the penalty.
      throttled_until += std::chrono::seconds(l.retry_after_extension_seconds);
      return throttle(throttle_code, throttle_message,
                      std::chrono::duration<double>(throttled_until - now).count());
    }
    if (l.max_concurrent && in_flight >= l.max_concurrent)
      return throttle("0x80072326",
                      "Number of concurrent requests exceeded the limit of " +
                          std::to_string(l.max_concurrent) + ".",
                      l.retry_after_seconds);
    const auto window_end = [&] {
      const auto span = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(l.window_seconds));
      return window.empty() ? now + std::chrono::seconds(l.retry_after_seconds) : window.front().t + span;
    };
    if (l.max_requests && window_requests >= l.max_requests) {
      throttled_until = window_end();
      throttle_code = "0x80072322";
      throttle_message = "Number of requests exceeded the limit of " + std::to_string(l.max_requests) +
                         " over time window of " + std::to_string(static_cast<long long>(l.window_seconds)) +
                         " seconds.";
      return throttle(throttle_code, throttle_message,
                      std::chrono::duration<double>(throttled_until - now).count());
    }
    if (l.max_execution_ms > 0 && window_exec_ms >= l.max_execution_ms) {
      throttled_until = window_end();
      throttle_code = "0x80072321";
      throttle_message = "Combined execution time of incoming requests exceeded limit of " +
                         std::to_string(static_cast<long long>(l.max_execution_ms)) +
                         " milliseconds over time window of " +
                         std::to_string(static_cast<long long>(l.window_seconds)) +
                         " seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.";
      return throttle(throttle_code, throttle_message,
                      std::chrono::duration<double>(throttled_until - now).count());
    }
    return std::nullopt;
  }

  void charge(std::size_t operations, bool is_batch) {
    if (!opt.limits.enabled) return;
    const auto now = Clock::now();
    const std::uint64_t n = (is_batch && opt.limits.batch_counts_as_one) ? 1 : std::max<std::size_t>(1, operations);
    const double cost = static_cast<double>(std::max<std::size_t>(1, operations)) * opt.limits.operation_cost_ms;
    window.push_back(Usage{now, n, cost});
    window_requests += n;
    window_exec_ms += cost;
  }

  void add_limit_headers(Response& r) {
    if (!opt.limits.enabled) return;
    if (opt.limits.max_requests)
      r.headers.emplace_back("x-ms-ratelimit-burst-remaining-xrm-requests",
                             std::to_string(opt.limits.max_requests > window_requests
                                                ? opt.limits.max_requests - window_requests
                                                : 0));
    r.headers.emplace_back(
        "x-ms-ratelimit-time-remaining-xrm-requests",
        std::to_string(std::max(0.0, opt.limits.max_execution_ms - window_exec_ms) / 1000.0));
  }

  // ---- auth ---------------------------------------------------------------------------

  std::optional<Response> check_auth(const RequestView& req) {
    if (!opt.auth.enabled) return std::nullopt;
    const auto h = find_header(req.headers, "Authorization");
    std::string_view why = "missing bearer token";
    if (h && h->size() > 7 && iequals(h->substr(0, 7), "Bearer ")) {
      auto it = tokens.find(std::string(h->substr(7)));
      if (it != tokens.end() && Clock::now() < it->second) return std::nullopt;
      why = it == tokens.end() ? "invalid bearer token" : "expired bearer token";
    }
    ++st.unauthorized;
    auto r = error_response(401, "0x80072243", std::string("Authentication failed: ") + std::string(why));
    r.headers.emplace_back("WWW-Authenticate",
                           "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, "
                           "resource_id=" + base_from_host(req) + ", error=\"invalid_token\"");
    return r;
  }

  Response token(const RequestView& req) {
    std::map<std::string, std::string> form;
    std::string_view b = req.body;
    while (!b.empty()) {
      const auto amp = b.find('&');
      const auto pair = b.substr(0, amp);
      b = amp == std::string_view::npos ? std::string_view{} : b.substr(amp + 1);
      const auto eq = pair.find('=');
      form[percent_decode(pair.substr(0, eq), true)] =
          eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    }
    auto oauth_error = [](int status, std::string_view err, std::string_view desc) {
      Response r;
      r.status = status;
      r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
      r.body = json::serialize(json::object{{"error", err}, {"error_description", desc}});
      return r;
    };
    if (form["grant_type"] != "client_credentials")
      return oauth_error(400, "unsupported_grant_type",
                         "AADSTS70003: The app requested an unsupported grant type.");
    if (form["scope"].empty())
      return oauth_error(400, "invalid_request",
                         "AADSTS900144: The request body must contain the following parameter: 'scope'.");
    if (form["client_id"] != opt.auth.client_id)
      return oauth_error(400, "unauthorized_client",
                         "AADSTS700016: Application with identifier '" + form["client_id"] +
                             "' was not found in the directory.");
    if (form["client_secret"] != opt.auth.client_secret)
      return oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    const std::string tok = std::string("sim.") + buf;
    tokens[tok] = Clock::now() + std::chrono::seconds(opt.auth.token_lifetime_seconds);
    Response r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
    r.body = json::serialize(json::object{{"token_type", "Bearer"},
                                          {"expires_in", opt.auth.token_lifetime_seconds},
                                          {"ext_expires_in", opt.auth.token_lifetime_seconds},
                                          {"access_token", tok}});
    return r;
  }

  std::string base_from_host(const RequestView& req) const {
    if (!opt.public_base_url.empty()) return opt.public_base_url;
    auto host = find_header(req.headers, "Host");
    return std::string(req.scheme) + "://" +
           (host ? std::string(*host) : "127.0.0.1:" + std::to_string(port));
  }

  // ---- URL resolution -----------------------------------------------------------------

  // Splits an inner or outer target into (path relative to the service root, query).
  // Accepts absolute URIs, absolute paths and service-root-relative paths.
  bool resolve(std::string_view target, std::string_view& rel, std::string_view& query) const {
    if (auto scheme = target.find("://"); scheme != std::string_view::npos && scheme < 8) {
      auto slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    const auto q = target.find('?');
    query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    auto path = target.substr(0, q);
    if (!path.empty() && path.front() == '/') {
      const std::string_view root = opt.service_root;
      if (path.substr(0, root.size()) != root) return false;
      path.remove_prefix(root.size());
      if (!path.empty() && path.front() != '/') return false;
      if (!path.empty()) path.remove_prefix(1);
    }
    rel = path;
    return true;
  }

  // ---- $batch ---------------------------------------------------------------------------

  // Runs one batch operation with its per-operation faults.
  Response run_op(const InnerRequest& r, double& delay_ms) {
    delay_ms += latency(opt.faults.operation_latency_ms, opt.faults.operation_latency_jitter_ms);
    if (chance(opt.faults.operation_error_probability)) {
      ++st.injected_errors;
      const int s = fault_status();
      return error_response(s, "0x80040216", "Simulated fault: an unexpected error occurred.");
    }
    std::string_view rel, query;
    if (!resolve(r.target, rel, query))
      return error_response(404, "0x80060888", "Resource not found for the segment '" + std::string(r.target) + "'.");
    auto res = execute(r.method, rel, query, r.headers, r.body);
    if (res.status < 400 && r.method != "GET" && chance(opt.faults.operation_applied_then_failed_probability)) {
      ++st.applied_then_failed;
      return error_response(500, "0x80040216", "Simulated fault: the operation failed after it was applied.");
    }
    return res;
  }

  static void append_http_part(std::string& out, std::string_view boundary, const Response& r,
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

  void count_op(int status) { ++ops_by_status[status]; }

  Outcome batch_multipart(const RequestView& req, bool continue_on_error) {
    Outcome out;
    const auto ct = find_header(req.headers, "Content-Type");
    const auto boundary = ct ? multipart_boundary(*ct) : std::nullopt;
    if (!boundary) {
      out.response = error_response(400, "0x80048d19",
                                    "A $batch request needs Content-Type: multipart/mixed with a boundary, or application/json.");
      return out;
    }
    const auto outer = parse_multipart(req.body, *boundary, opt.max_batch_requests + 1);
    if (!outer.error.empty()) {
      out.response = error_response(400, "0x80048d19",
                                    outer.error.find("too many parts") != std::string::npos
                                        ? "The number of requests in a batch exceeds the limit of " +
                                              std::to_string(opt.max_batch_requests) + "."
                                        : "Malformed $batch body: " + outer.error);
      return out;
    }
    // Parse everything before executing anything: a malformed batch changes nothing.
    struct Item {
      bool change_set = false;
      std::vector<BatchItemRequest> reqs;
    };
    std::vector<Item> items;
    std::size_t total = 0;
    std::vector<MultipartParse> nested;  // keeps nested parse results alive (views)
    nested.reserve(outer.parts.size());
    for (std::size_t i = 0; i < outer.parts.size(); ++i) {
      const auto& part = outer.parts[i];
      const auto pct = find_header(part.headers, "Content-Type");
      const auto where = "part " + std::to_string(i + 1) + ": ";
      auto bad = [&](const std::string& why) {
        out.response = error_response(400, "0x80048d19", "Malformed $batch body: " + where + why);
        return out;
      };
      if (!pct) return bad("missing Content-Type");
      if (auto cs = multipart_boundary(*pct)) {
        nested.push_back(parse_multipart(part.body, *cs, opt.max_batch_requests + 1));
        const auto& inner = nested.back();
        if (!inner.error.empty()) return bad("change set: " + inner.error);
        Item item;
        item.change_set = true;
        for (const auto& ip : inner.parts) {
          const auto ict = find_header(ip.headers, "Content-Type");
          if (!ict || !iequals(ict->substr(0, ict->find(';')), "application/http"))
            return bad("change set parts must be application/http (no nested change sets)");
          auto parsed = parse_inner_request(ip.body);
          if (!parsed.error.empty()) return bad("change set: " + parsed.error);
          if (parsed.request.method == "GET") return bad("a change set cannot contain GET");
          const auto cid = find_header(ip.headers, "Content-ID");
          item.reqs.push_back({parsed.request, std::string(cid ? *cid : "")});
        }
        total += item.reqs.size();
        items.push_back(std::move(item));
      } else if (iequals(pct->substr(0, pct->find(';')), "application/http")) {
        auto parsed = parse_inner_request(part.body);
        if (!parsed.error.empty()) return bad(parsed.error);
        const auto cid = find_header(part.headers, "Content-ID");
        Item item;
        item.reqs.push_back({parsed.request, std::string(cid ? *cid : "")});
        total += 1;
        items.push_back(std::move(item));
      } else {
        return bad("Content-Type must be application/http or multipart/mixed");
      }
    }
    if (total > opt.max_batch_requests) {
      out.response = error_response(400, "0x80048d19",
                                    "The number of requests in a batch exceeds the limit of " +
                                        std::to_string(opt.max_batch_requests) + ".");
      return out;
    }
    ++st.batches;
    ++st.batch_sizes[total];
    charge(total, true);

    const std::string rb = "batchresponse_" + new_guid();
    std::string body;
    body.reserve(total * 320 + 64);
    int failed_status = 0;
    for (auto& item : items) {
      if (!item.change_set) {
        auto res = run_op(item.reqs[0].req, out.delay_ms);
        count_op(res.status);
        append_http_part(body, rb, res, item.reqs[0].content_id);
        if (res.status >= 400 && !failed_status) failed_status = res.status;
        if (res.status >= 400 && !continue_on_error) break;
        continue;
      }
      std::vector<Undo> log;
      undo = &log;
      std::vector<Response> responses;
      std::size_t failed = item.reqs.size();
      for (std::size_t i = 0; i < item.reqs.size(); ++i) {
        auto res = run_op(item.reqs[i].req, out.delay_ms);
        count_op(res.status);
        const bool bad = res.status >= 400;
        responses.push_back(std::move(res));
        if (bad) {
          failed = i;
          break;
        }
      }
      undo = nullptr;
      if (failed < item.reqs.size()) {
        rollback(log);
        ++st.rolled_back_change_sets;
        // A failed change set answers with one response: the failing request's.
        append_http_part(body, rb, responses[failed], item.reqs[failed].content_id);
        if (!failed_status) failed_status = responses[failed].status;
        if (!continue_on_error) break;
        continue;
      }
      const std::string cb = "changesetresponse_" + new_guid();
      body += "--" + rb + "\r\nContent-Type: multipart/mixed; boundary=" + cb + "\r\n\r\n";
      for (std::size_t i = 0; i < responses.size(); ++i)
        append_http_part(body, cb, responses[i], item.reqs[i].content_id);
      body += "--" + cb + "--\r\n";
    }
    body += "--" + rb + "--\r\n";
    out.response.status = 200;
    if (failed_status && !continue_on_error && !opt.batch_error_status_200) out.response.status = failed_status;
    out.response.headers.emplace_back("Content-Type", "multipart/mixed; boundary=" + rb);
    out.response.headers.emplace_back("OData-Version", "4.0");
    if (continue_on_error) out.response.headers.emplace_back("Preference-Applied", "odata.continue-on-error");
    out.response.body = std::move(body);
    return out;
  }

  Outcome batch_json(const RequestView& req, bool continue_on_error) {
    Outcome out;
    auto bad = [&](const std::string& why) {
      out.response = error_response(400, "0x80048d19", "Malformed JSON batch: " + why);
      return out;
    };
    boost::system::error_code ec;
    auto doc = json::parse(req.body, ec);
    if (ec) return bad(ec.message());
    if (!doc.is_object() || !doc.get_object().contains("requests") || !doc.at("requests").is_array())
      return bad("expected {\"requests\":[...]}");
    const auto& arr = doc.at("requests").get_array();
    if (arr.size() > opt.max_batch_requests) {
      out.response = error_response(400, "0x80048d19",
                                    "The number of requests in a batch exceeds the limit of " +
                                        std::to_string(opt.max_batch_requests) + ".");
      return out;
    }
    struct JReq {
      std::string id, method, url, group;
      std::vector<std::string> depends;
      std::vector<std::pair<std::string, std::string>> header_store;
      std::string body;
    };
    std::vector<JReq> reqs;
    std::map<std::string, std::size_t> index;
    std::set<std::string> closed_groups;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const auto where = "requests[" + std::to_string(i) + "]: ";
      if (!arr[i].is_object()) return bad(where + "not an object");
      const auto& o = arr[i].get_object();
      JReq r;
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
    ++st.batches;
    ++st.batch_sizes[reqs.size()];
    charge(reqs.size(), true);

    std::map<std::string, bool> ok;  // id or group -> succeeded
    json::array responses;
    int failed_status = 0;
    auto to_inner = [](const JReq& r, HeaderList& hl) {
      InnerRequest ir;
      ir.method = r.method;
      ir.target = r.url;
      for (const auto& [k, v] : r.header_store) hl.emplace_back(k, v);
      ir.headers = hl;
      ir.body = r.body;
      return ir;
    };
    auto response_json = [](const std::string& id, const std::string& group, const Response& res) {
      json::object ro{{"id", id}, {"status", res.status}};
      if (!group.empty()) ro["atomicityGroup"] = group;
      json::object hs;
      std::string_view ctype;
      for (const auto& [k, v] : res.headers) {
        hs[k] = v;
        if (iequals(k, "Content-Type")) ctype = v;
      }
      ro["headers"] = std::move(hs);
      if (!res.body.empty()) {
        boost::system::error_code pec;
        auto bv = json::parse(res.body, pec);
        ro["body"] = pec ? json::value(json::string(res.body)) : std::move(bv);
      }
      return ro;
    };
    auto deps_ok = [&](const JReq& r) {
      for (const auto& d : r.depends)
        if (!ok.count(d) || !ok[d]) return false;
      return true;
    };
    const auto failed_dependency = error_response(424, "", "Failed Dependency");
    std::size_t i = 0;
    bool stop = false;
    while (i < reqs.size() && !stop) {
      if (reqs[i].group.empty()) {
        Response res;
        if (!deps_ok(reqs[i])) res = failed_dependency;
        else {
          HeaderList hl;
          res = run_op(to_inner(reqs[i], hl), out.delay_ms);
        }
        count_op(res.status);
        ok[reqs[i].id] = res.status < 400;
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
      std::vector<Undo> log;
      undo = &log;
      std::vector<Response> results;
      std::size_t failed = end;
      for (std::size_t j = i; j < end; ++j) {
        Response res;
        if (!deps_ok(reqs[j])) res = failed_dependency;
        else {
          HeaderList hl;
          res = run_op(to_inner(reqs[j], hl), out.delay_ms);
        }
        count_op(res.status);
        ok[reqs[j].id] = res.status < 400;
        const bool bad_status = res.status >= 400;
        results.push_back(std::move(res));
        if (bad_status) {
          failed = j;
          break;
        }
      }
      undo = nullptr;
      if (failed < end) {
        rollback(log);
        ++st.rolled_back_change_sets;
        ok[group] = false;
        // Every member answers: the failing one with its error, the others 424.
        for (std::size_t j = i; j < end; ++j) {
          ok[reqs[j].id] = false;
          responses.push_back(response_json(reqs[j].id, group, j == failed ? results[j - i] : failed_dependency));
        }
        if (!failed_status) failed_status = results[failed - i].status;
        if (!continue_on_error) stop = true;
      } else {
        ok[group] = true;
        for (std::size_t j = i; j < end; ++j) responses.push_back(response_json(reqs[j].id, group, results[j - i]));
      }
      i = end;
    }
    out.response = json_response(200, dump(json::object{{"responses", std::move(responses)}}));
    if (failed_status && !continue_on_error && !opt.batch_error_status_200) out.response.status = failed_status;
    if (continue_on_error) out.response.headers.emplace_back("Preference-Applied", "odata.continue-on-error");
    return out;
  }

  // ---- records I/O -----------------------------------------------------------------

  json::object records_object() const {
    json::object o;
    for (const auto& set : sets) {
      std::vector<const Record*> rs;
      for (const auto& [id, r] : set->by_id) rs.push_back(&r);
      std::sort(rs.begin(), rs.end(), [](const Record* a, const Record* b) { return a->seq < b->seq; });
      json::array arr;
      for (const auto* r : rs) arr.push_back(to_json(*set, *r, nullptr, false));
      o[set->opt.name] = std::move(arr);
    }
    return o;
  }

  void load_records(std::string_view text) {
    boost::system::error_code ec;
    auto doc = json::parse(text, ec);
    if (ec || !doc.is_object()) throw std::invalid_argument("records: expected a JSON object {\"<EntitySet>\":[...]}");
    for (auto& set : sets) {
      set->by_id.clear();
      set->by_key.clear();
    }
    for (const auto& [name, arr] : doc.get_object()) {
      auto* set = find_set(name);
      if (!set) throw std::invalid_argument("records: unknown entity set '" + std::string(name) + "'");
      if (!arr.is_array()) throw std::invalid_argument("records: '" + std::string(name) + "' must be an array");
      for (const auto& rv : arr.get_array()) {
        if (!rv.is_object()) throw std::invalid_argument("records: every record must be an object");
        if (auto err = validate(*set, rv.get_object()))
          throw std::invalid_argument("records: " + err->body);
        auto res = insert(*set, rv.get_object(), {}, false, false);
        if (res.status >= 400) throw std::invalid_argument("records: " + res.body);
      }
    }
  }
};

Service::Service(SimOptions options) : s_(std::make_unique<State>(std::move(options))) {
  if (!s_->opt.records_file.empty()) {
    std::ifstream in(s_->opt.records_file, std::ios::binary);
    if (!in) throw std::runtime_error("simulator: cannot read records_file " + s_->opt.records_file);
    std::stringstream ss;
    ss << in.rdbuf();
    s_->load_records(ss.str());
  }
}

Service::~Service() = default;

const SimOptions& Service::options() const { return s_->opt; }

void Service::set_port(std::uint16_t port) {
  std::lock_guard lock(s_->mu);
  s_->port = port;
}

std::string Service::base_url() const {
  std::lock_guard lock(s_->mu);
  return (s_->opt.tls.cert_file.empty() ? "http://" : "https://") + s_->opt.listen_address + ":" +
         std::to_string(s_->port);
}

bool Service::handle_control(const RequestView& req, Response& out) {
  const auto path = req.target.substr(0, req.target.find('?'));
  auto& s = *s_;
  const std::string_view token_suffix = "/oauth2/v2.0/token";
  if (path.size() > token_suffix.size() && path.substr(path.size() - token_suffix.size()) == token_suffix &&
      path.substr(1).find('/') == path.size() - token_suffix.size() - 1) {
    std::lock_guard lock(s.mu);
    out = req.method == "POST" ? s.token(req)
                               : error_response(405, "", "The token endpoint accepts POST only.");
    return true;
  }
  if (path.substr(0, 6) != "/_sim/") return false;
  const auto what = path.substr(6);
  try {
    if (what == "stats" && req.method == "GET") out = json_response(200, stats_json());
    else if (what == "records" && req.method == "GET") out = json_response(200, records_json());
    else if (what == "records" && req.method == "PUT") {
      load_records_json(std::string(req.body));
      out = json_response(200, R"({"ok":true})");
    } else if (what == "reset" && req.method == "POST") {
      reset();
      out = json_response(200, R"({"ok":true})");
    } else if (what == "faults" && req.method == "GET") out = json_response(200, to_json(faults()));
    else if (what == "faults" && req.method == "PUT") {
      set_faults(parse_faults(req.body, faults()));
      out = json_response(200, to_json(faults()));
    } else if (what == "limits" && req.method == "GET") out = json_response(200, to_json(limits()));
    else if (what == "limits" && req.method == "PUT") {
      set_limits(parse_limits(req.body, limits()));
      out = json_response(200, to_json(limits()));
    } else if (what == "tokens/expire" && req.method == "POST") {
      expire_tokens();
      out = json_response(200, R"({"ok":true})");
    } else {
      out = error_response(404, "", "Unknown simulator endpoint; see docs/simulator.md");
    }
  } catch (const std::exception& e) {
    out = error_response(400, "", e.what());
  }
  return true;
}

Admission Service::admit(const RequestView& req) {
  std::lock_guard lock(s_->mu);
  auto& s = *s_;
  Admission a;
  ++s.st.requests;
  if (s.chance(s.opt.faults.reset_probability)) {
    ++s.st.injected_resets;
    a.kind = Admission::Kind::Reset;
    return a;
  }
  if (s.chance(s.opt.faults.request_error_probability)) {
    ++s.st.injected_errors;
    a.kind = Admission::Kind::Respond;
    a.response = error_response(s.fault_status(), "0x80040216", "Simulated fault: an unexpected error occurred.");
    return a;
  }
  s.base = s.base_from_host(req) + s.opt.service_root;
  if (auto r = s.check_auth(req)) {
    a.kind = Admission::Kind::Respond;
    a.response = std::move(*r);
    return a;
  }
  if (auto r = s.check_limits(Clock::now())) {
    a.kind = Admission::Kind::Respond;
    a.response = std::move(*r);
    return a;
  }
  ++s.in_flight;
  a.latency_ms = s.latency(s.opt.faults.request_latency_ms, s.opt.faults.request_latency_jitter_ms);
  return a;
}

Outcome Service::process(const RequestView& req) {
  std::lock_guard lock(s_->mu);
  auto& s = *s_;
  s.base = s.base_from_host(req) + s.opt.service_root;
  Outcome out;
  std::string_view rel, query;
  if (!s.resolve(req.target, rel, query)) {
    out.response = error_response(404, "0x80060888", "Resource not found for the segment '" + std::string(req.target) + "'.");
  } else if (rel == "$batch") {
    if (req.method != "POST") {
      out.response = error_response(405, "0x80060888", "$batch accepts POST only.");
    } else {
      const auto prefer = header_or(req.headers, "Prefer");
      const bool coe = icontains(prefer, "odata.continue-on-error") && !icontains(prefer, "continue-on-error=false");
      const auto ct = header_or(req.headers, "Content-Type");
      out = iequals(std::string_view(ct).substr(0, std::min<std::size_t>(ct.size(), 16)), "application/json")
                ? s.batch_json(req, coe)
                : s.batch_multipart(req, coe);
    }
  } else {
    s.charge(1, false);
    out.response = s.execute(req.method, rel, query, req.headers, req.body);
  }
  if (out.response.status < 400 && req.method != "GET" && s.chance(s.opt.faults.applied_then_failed_probability)) {
    ++s.st.applied_then_failed;
    if (s.opt.faults.applied_then_failed_drop) out.drop = true;
    else out.response = error_response(500, "0x80040216", "Simulated fault: the request failed after it was applied.");
  }
  if (s.chance(s.opt.faults.slow_response_probability)) {
    ++s.st.slow_responses;
    out.delay_ms += s.opt.faults.slow_response_ms;
  }
  s.add_limit_headers(out.response);
  return out;
}

void Service::release() {
  std::lock_guard lock(s_->mu);
  if (s_->in_flight) --s_->in_flight;
}

void Service::count_response(int status) {
  std::lock_guard lock(s_->mu);
  ++s_->st.requests_by_status[status];
}

SimStats Service::stats() const {
  std::lock_guard lock(s_->mu);
  SimStats st = s_->st;
  st.records = 0;
  st.creates_per_key_histogram.clear();
  st.keys_created_more_than_once.clear();
  for (const auto& set : s_->sets) {
    st.records += set->by_id.size();
    for (const auto& [k, n] : set->creates_per_key) {
      ++st.creates_per_key_histogram[n];
      if (n > 1 && st.keys_created_more_than_once.size() < 100) {
        std::string shown = set->opt.name;
        for (char c : k) shown.push_back(c == '\x1f' ? '|' : c);
        st.keys_created_more_than_once.push_back(shown.insert(set->opt.name.size(), "|"));
      }
    }
  }
  return st;
}

std::string Service::stats_json() const {
  const auto st = stats();
  std::map<int, std::uint64_t> ops;
  {
    std::lock_guard lock(s_->mu);
    ops = s_->ops_by_status;
  }
  auto int_map = [](const auto& m) {
    json::object o;
    for (const auto& [k, v] : m) o[std::to_string(k)] = v;
    return o;
  };
  json::array more;
  for (const auto& k : st.keys_created_more_than_once) more.push_back(json::string(k));
  json::object o{{"requests", st.requests},
                 {"requests_by_status", int_map(st.requests_by_status)},
                 {"operations", st.operations},
                 {"batch_operations_by_status", int_map(ops)},
                 {"creates", st.creates},
                 {"updates", st.updates},
                 {"deletes", st.deletes},
                 {"duplicate_rejections", st.duplicate_rejections},
                 {"batches", st.batches},
                 {"batch_sizes", int_map(st.batch_sizes)},
                 {"rolled_back_change_sets", st.rolled_back_change_sets},
                 {"throttled", st.throttled},
                 {"injected_errors", st.injected_errors},
                 {"injected_resets", st.injected_resets},
                 {"applied_then_failed", st.applied_then_failed},
                 {"slow_responses", st.slow_responses},
                 {"unauthorized", st.unauthorized},
                 {"creates_per_key_histogram", int_map(st.creates_per_key_histogram)},
                 {"keys_created_more_than_once", std::move(more)},
                 {"records", st.records}};
  return json::serialize(o);
}

std::vector<SimRecord> Service::records() const {
  std::lock_guard lock(s_->mu);
  std::vector<SimRecord> out;
  for (const auto& set : s_->sets) {
    std::vector<const Record*> rs;
    for (const auto& [id, r] : set->by_id) rs.push_back(&r);
    std::sort(rs.begin(), rs.end(), [](const Record* a, const Record* b) { return a->seq < b->seq; });
    for (const auto* r : rs)
      out.push_back(SimRecord{set->opt.name, r->id, r->key,
                              dump(s_->to_json(*set, *r, nullptr, false)), r->created_at});
  }
  return out;
}

std::string Service::records_json() const {
  std::lock_guard lock(s_->mu);
  return dump(s_->records_object());
}

void Service::load_records_json(const std::string& text) {
  std::lock_guard lock(s_->mu);
  s_->load_records(text);
}

FaultOptions Service::faults() const {
  std::lock_guard lock(s_->mu);
  return s_->opt.faults;
}

void Service::set_faults(const FaultOptions& f) {
  std::lock_guard lock(s_->mu);
  if (f.error_statuses.empty()) throw std::invalid_argument("faults: error_statuses must not be empty");
  s_->opt.faults = f;
}

LimitOptions Service::limits() const {
  std::lock_guard lock(s_->mu);
  return s_->opt.limits;
}

void Service::set_limits(const LimitOptions& l) {
  std::lock_guard lock(s_->mu);
  s_->opt.limits = l;
  s_->window.clear();
  s_->window_requests = 0;
  s_->window_exec_ms = 0;
  s_->throttled_until = {};
}

void Service::reset() {
  std::lock_guard lock(s_->mu);
  auto& s = *s_;
  for (auto& set : s.sets) {
    set->by_id.clear();
    set->by_key.clear();
    set->creates_per_key.clear();
  }
  s.st = SimStats{};
  s.ops_by_status.clear();
  s.window.clear();
  s.window_requests = 0;
  s.window_exec_ms = 0;
  s.throttled_until = {};
  s.tokens.clear();
}

void Service::expire_tokens() {
  std::lock_guard lock(s_->mu);
  for (auto& [t, exp] : s_->tokens) exp = Clock::now() - std::chrono::seconds(1);
}

}  // namespace ib::sim
