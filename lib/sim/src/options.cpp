#include "sim/options.hpp"

#include "text.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace ib::sim {

namespace json = boost::json;

namespace {

// Collects every problem of one document so startup reports them all at once.
struct Problems {
  std::vector<std::string> list;
  void add(std::string p) { list.push_back(std::move(p)); }
  void throw_if_any(std::string_view what) const {
    if (list.empty()) return;
    std::string msg(what);
    for (const auto& p : list) msg += "\n  - " + p;
    throw std::invalid_argument(msg);
  }
};

bool get_number(const json::value& v, double& out) {
  if (v.is_double()) out = v.get_double();
  else if (v.is_int64()) out = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) out = static_cast<double>(v.get_uint64());
  else return false;
  return true;
}

void read_double(const json::value& v, std::string_view key, double& out, Problems& p,
                 double lo, double hi) {
  double d = 0;
  if (!get_number(v, d) || d < lo || d > hi) {
    p.add(std::string(key) + ": expected a number in [" + std::to_string(lo) + ", " +
          std::to_string(hi) + "]");
    return;
  }
  out = d;
}

template <typename Int>
void read_uint(const json::value& v, std::string_view key, Int& out, Problems& p) {
  double d = 0;
  if (!get_number(v, d) || d < 0 || d != static_cast<double>(static_cast<std::uint64_t>(d))) {
    p.add(std::string(key) + ": expected a non-negative integer");
    return;
  }
  out = static_cast<Int>(d);
}

void read_bool(const json::value& v, std::string_view key, bool& out, Problems& p) {
  if (!v.is_bool()) {
    p.add(std::string(key) + ": expected true or false");
    return;
  }
  out = v.get_bool();
}

void read_string(const json::value& v, std::string_view key, std::string& out, Problems& p) {
  if (!v.is_string()) {
    p.add(std::string(key) + ": expected a string");
    return;
  }
  out = std::string(v.get_string());
}

const json::object* as_object(const json::value& v, std::string_view key, Problems& p) {
  if (!v.is_object()) {
    p.add(std::string(key) + ": expected an object");
    return nullptr;
  }
  return &v.get_object();
}

void apply_faults(const json::object& o, FaultOptions& f, Problems& p, std::string_view prefix) {
  for (const auto& [k, v] : o) {
    const std::string key = std::string(prefix) + std::string(k);
    if (k == "request_error_probability") read_double(v, key, f.request_error_probability, p, 0, 1);
    else if (k == "operation_error_probability")
      read_double(v, key, f.operation_error_probability, p, 0, 1);
    else if (k == "error_statuses") {
      if (!v.is_array() || v.get_array().empty()) {
        p.add(key + ": expected a non-empty array of statuses");
        continue;
      }
      std::vector<int> statuses;
      for (const auto& s : v.get_array()) {
        double d = 0;
        if (!get_number(s, d) || d < 400 || d > 599) {
          p.add(key + ": statuses must be 400..599");
          break;
        }
        statuses.push_back(static_cast<int>(d));
      }
      if (statuses.size() == v.get_array().size()) f.error_statuses = std::move(statuses);
    } else if (k == "request_latency_ms") read_double(v, key, f.request_latency_ms, p, 0, 3.6e6);
    else if (k == "request_latency_jitter_ms")
      read_double(v, key, f.request_latency_jitter_ms, p, 0, 3.6e6);
    else if (k == "operation_latency_ms") read_double(v, key, f.operation_latency_ms, p, 0, 3.6e6);
    else if (k == "operation_latency_jitter_ms")
      read_double(v, key, f.operation_latency_jitter_ms, p, 0, 3.6e6);
    else if (k == "reset_probability") read_double(v, key, f.reset_probability, p, 0, 1);
    else if (k == "applied_then_failed_probability")
      read_double(v, key, f.applied_then_failed_probability, p, 0, 1);
    else if (k == "applied_then_failed_drop") read_bool(v, key, f.applied_then_failed_drop, p);
    else if (k == "operation_applied_then_failed_probability")
      read_double(v, key, f.operation_applied_then_failed_probability, p, 0, 1);
    else if (k == "slow_response_probability")
      read_double(v, key, f.slow_response_probability, p, 0, 1);
    else if (k == "slow_response_ms") read_double(v, key, f.slow_response_ms, p, 0, 3.6e6);
    else p.add(key + ": unknown key");
  }
}

void apply_limits(const json::object& o, LimitOptions& l, Problems& p, std::string_view prefix) {
  for (const auto& [k, v] : o) {
    const std::string key = std::string(prefix) + std::string(k);
    if (k == "enabled") read_bool(v, key, l.enabled, p);
    else if (k == "window_seconds") read_double(v, key, l.window_seconds, p, 0.001, 86400);
    else if (k == "max_requests") read_uint(v, key, l.max_requests, p);
    else if (k == "max_execution_ms") read_double(v, key, l.max_execution_ms, p, 0, 1e12);
    else if (k == "max_concurrent") read_uint(v, key, l.max_concurrent, p);
    else if (k == "operation_cost_ms") read_double(v, key, l.operation_cost_ms, p, 0, 1e9);
    else if (k == "batch_counts_as_one") read_bool(v, key, l.batch_counts_as_one, p);
    else if (k == "bulk_message_cost_ms") read_double(v, key, l.bulk_message_cost_ms, p, 0, 1e9);
    else if (k == "bulk_record_cost_ms") read_double(v, key, l.bulk_record_cost_ms, p, 0, 1e9);
    else if (k == "retry_after_seconds") read_uint(v, key, l.retry_after_seconds, p);
    else if (k == "retry_after_extension_seconds")
      read_uint(v, key, l.retry_after_extension_seconds, p);
    else if (k == "dop_hint") read_uint(v, key, l.dop_hint, p);
    else p.add(key + ": unknown key");
  }
}

bool parse_type(std::string_view s, PropertyType& t) {
  if (s == "string") t = PropertyType::String;
  else if (s == "decimal") t = PropertyType::Decimal;
  else if (s == "integer") t = PropertyType::Integer;
  else if (s == "boolean") t = PropertyType::Boolean;
  else if (s == "date") t = PropertyType::Date;
  else if (s == "datetimeoffset") t = PropertyType::DateTimeOffset;
  else if (s == "guid") t = PropertyType::Guid;
  else return false;
  return true;
}

EntitySetOptions parse_entity_set(const json::object& o, Problems& p, const std::string& prefix) {
  EntitySetOptions e;
  for (const auto& [k, v] : o) {
    const std::string key = prefix + std::string(k);
    if (k == "name") read_string(v, key, e.name, p);
    else if (k == "id_property") read_string(v, key, e.id_property, p);
    else if (k == "allow_unknown_properties") read_bool(v, key, e.allow_unknown_properties, p);
    else if (k == "key_properties") {
      if (!v.is_array() || v.get_array().empty()) {
        p.add(key + ": expected a non-empty array of property names");
        continue;
      }
      e.key_properties.clear();
      for (const auto& s : v.get_array()) {
        if (!s.is_string()) p.add(key + ": names must be strings");
        else e.key_properties.emplace_back(s.get_string());
      }
    } else if (k == "properties") {
      const auto* po = as_object(v, key, p);
      if (!po) continue;
      e.properties.clear();
      for (const auto& [pk, pv] : *po) {
        PropertyType t{};
        if (!pv.is_string() || !parse_type(pv.get_string(), t)) {
          p.add(key + "." + std::string(pk) +
                ": type must be string|decimal|integer|boolean|date|datetimeoffset|guid");
          continue;
        }
        e.properties.emplace_back(std::string(pk), t);
      }
    } else p.add(key + ": unknown key");
  }
  if (e.name.empty()) p.add(prefix + "name: must not be empty");
  if (e.id_property.empty()) p.add(prefix + "id_property: must not be empty");
  return e;
}

}  // namespace

SimOptions parse_options(std::string_view text, SimOptions base) {
  Problems p;
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec) throw std::invalid_argument("simulator config: not JSON: " + ec.message());
  if (!doc.is_object()) throw std::invalid_argument("simulator config: expected a JSON object");
  SimOptions o = std::move(base);
  for (const auto& [k, v] : doc.get_object()) {
    const std::string key(k);
    if (k == "listen_address") read_string(v, key, o.listen_address, p);
    else if (k == "port") {
      read_uint(v, key, o.port, p);
    } else if (k == "service_root") read_string(v, key, o.service_root, p);
    else if (k == "public_base_url") read_string(v, key, o.public_base_url, p);
    else if (k == "duplicate_status") {
      read_uint(v, key, o.duplicate_status, p);
      if (o.duplicate_status != 409 && o.duplicate_status != 412)
        p.add("duplicate_status: must be 409 or 412");
    } else if (k == "max_batch_requests") read_uint(v, key, o.max_batch_requests, p);
    else if (k == "batch_error_status_200") read_bool(v, key, o.batch_error_status_200, p);
    else if (k == "max_body_bytes") read_uint(v, key, o.max_body_bytes, p);
    else if (k == "seed") read_uint(v, key, o.seed, p);
    else if (k == "records_file") read_string(v, key, o.records_file, p);
    else if (k == "limits") {
      if (const auto* lo = as_object(v, key, p)) apply_limits(*lo, o.limits, p, "limits.");
    } else if (k == "faults") {
      if (const auto* fo = as_object(v, key, p)) apply_faults(*fo, o.faults, p, "faults.");
    } else if (k == "auth") {
      const auto* ao = as_object(v, key, p);
      if (!ao) continue;
      for (const auto& [ak, av] : *ao) {
        const std::string akey = "auth." + std::string(ak);
        if (ak == "enabled") read_bool(av, akey, o.auth.enabled, p);
        else if (ak == "client_id") read_string(av, akey, o.auth.client_id, p);
        else if (ak == "client_secret") read_string(av, akey, o.auth.client_secret, p);
        else if (ak == "token_lifetime_seconds")
          read_uint(av, akey, o.auth.token_lifetime_seconds, p);
        else p.add(akey + ": unknown key");
      }
    } else if (k == "tls") {
      const auto* to = as_object(v, key, p);
      if (!to) continue;
      for (const auto& [tk, tv] : *to) {
        const std::string tkey = "tls." + std::string(tk);
        if (tk == "cert_file") read_string(tv, tkey, o.tls.cert_file, p);
        else if (tk == "key_file") read_string(tv, tkey, o.tls.key_file, p);
        else p.add(tkey + ": unknown key");
      }
    } else if (k == "entity_sets") {
      if (!v.is_array() || v.get_array().empty()) {
        p.add("entity_sets: expected a non-empty array");
        continue;
      }
      o.entity_sets.clear();
      std::size_t i = 0;
      for (const auto& e : v.get_array()) {
        const std::string prefix = "entity_sets[" + std::to_string(i++) + "].";
        if (const auto* eo = as_object(e, prefix, p)) o.entity_sets.push_back(parse_entity_set(*eo, p, prefix));
      }
    } else p.add(key + ": unknown key");
  }
  if (o.service_root.empty() || o.service_root.front() != '/')
    p.add("service_root: must start with '/'");
  while (o.service_root.size() > 1 && o.service_root.back() == '/') o.service_root.pop_back();
  if (o.tls.cert_file.empty() != o.tls.key_file.empty())
    p.add("tls: give both cert_file and key_file, or neither");
  p.throw_if_any("simulator config has problems:");
  return o;
}

SimOptions load_options(const std::filesystem::path& file, SimOptions base) {
  const auto text = read_text_file(file);
  if (!text) throw std::runtime_error("simulator config: cannot read " + file.string());
  return parse_options(*text, std::move(base));
}

namespace {

// Merges the JSON object `text` onto `base` with `apply`; throws every problem at once,
// each under `what` ("faults", "limits").
template <typename T>
T merge_json(std::string_view text, T base, const std::string& what,
             void (*apply)(const json::object&, T&, Problems&, std::string_view)) {
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_object()) throw std::invalid_argument(what + ": expected a JSON object");
  Problems p;
  apply(doc.get_object(), base, p, "");
  p.throw_if_any(what + ":");
  return base;
}

}  // namespace

FaultOptions parse_faults(std::string_view text, FaultOptions base) {
  return merge_json(text, std::move(base), "faults", apply_faults);
}

LimitOptions parse_limits(std::string_view text, LimitOptions base) {
  return merge_json(text, std::move(base), "limits", apply_limits);
}

std::string to_json(const FaultOptions& f) {
  json::array statuses;
  for (int s : f.error_statuses) statuses.push_back(s);
  json::object o{{"request_error_probability", f.request_error_probability},
                 {"operation_error_probability", f.operation_error_probability},
                 {"error_statuses", std::move(statuses)},
                 {"request_latency_ms", f.request_latency_ms},
                 {"request_latency_jitter_ms", f.request_latency_jitter_ms},
                 {"operation_latency_ms", f.operation_latency_ms},
                 {"operation_latency_jitter_ms", f.operation_latency_jitter_ms},
                 {"reset_probability", f.reset_probability},
                 {"applied_then_failed_probability", f.applied_then_failed_probability},
                 {"applied_then_failed_drop", f.applied_then_failed_drop},
                 {"operation_applied_then_failed_probability",
                  f.operation_applied_then_failed_probability},
                 {"slow_response_probability", f.slow_response_probability},
                 {"slow_response_ms", f.slow_response_ms}};
  return json::serialize(o);
}

std::string to_json(const LimitOptions& l) {
  json::object o{{"enabled", l.enabled},
                 {"window_seconds", l.window_seconds},
                 {"max_requests", l.max_requests},
                 {"max_execution_ms", l.max_execution_ms},
                 {"max_concurrent", l.max_concurrent},
                 {"operation_cost_ms", l.operation_cost_ms},
                 {"batch_counts_as_one", l.batch_counts_as_one},
                 {"bulk_message_cost_ms", l.bulk_message_cost_ms},
                 {"bulk_record_cost_ms", l.bulk_record_cost_ms},
                 {"retry_after_seconds", l.retry_after_seconds},
                 {"retry_after_extension_seconds", l.retry_after_extension_seconds},
                 {"dop_hint", l.dop_hint}};
  return json::serialize(o);
}

}  // namespace ib::sim
