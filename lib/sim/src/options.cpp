#include "sim/options.hpp"

#include "text.hpp"

#include <boost/json.hpp>

#include <optional>
#include <set>
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

// An array of property names; `non_empty` refuses [].
void read_names(const json::value& v, const std::string& key, std::vector<std::string>& out,
                Problems& p, bool non_empty) {
  if (!v.is_array() || (non_empty && v.get_array().empty())) {
    p.add(key + (non_empty ? ": expected a non-empty array of property names"
                           : ": expected an array of property names"));
    return;
  }
  std::vector<std::string> names;
  for (const auto& s : v.get_array()) {
    if (!s.is_string() || s.get_string().empty()) {
      p.add(key + ": names must be non-empty strings");
      return;
    }
    names.emplace_back(s.get_string());
  }
  out = std::move(names);
}

EntitySetOptions parse_entity_set(const json::object& o, Problems& p, const std::string& prefix) {
  EntitySetOptions e;
  for (const auto& [k, v] : o) {
    const std::string key = prefix + std::string(k);
    if (k == "name") read_string(v, key, e.name, p);
    else if (k == "id_property") read_string(v, key, e.id_property, p);
    else if (k == "allow_unknown_properties") read_bool(v, key, e.allow_unknown_properties, p);
    else if (k == "key_properties") read_names(v, key, e.key_properties, p, true);
    else if (k == "required_properties") read_names(v, key, e.required_properties, p, false);
    else if (k == "unique_properties") read_names(v, key, e.unique_properties, p, false);
    else if (k == "company_property") read_string(v, key, e.company_property, p);
    else if (k == "entity_type") read_string(v, key, e.entity_type, p);
    else if (k == "table_label") read_string(v, key, e.table_label, p);
    else if (k == "parent") {
      const auto* po = as_object(v, key, p);
      if (!po) continue;
      for (const auto& [pk, pv] : *po) {
        const std::string pkey = key + "." + std::string(pk);
        if (pk == "entity_set") read_string(pv, pkey, e.parent.entity_set, p);
        else if (pk == "properties") read_names(pv, pkey, e.parent.properties, p, false);
        else p.add(pkey + ": unknown key");
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
  return e;
}

bool parse_error_style(std::string_view s, ErrorStyle& out) {
  if (s == "dataverse") out = ErrorStyle::Dataverse;
  else if (s == "finance_operations") out = ErrorStyle::FinanceOperations;
  else return false;
  return true;
}

// The declared type of `name` in `e`: a declared property, the id (a GUID as text) or an
// undeclared key property (a string); nullopt when `e` has no such property.
std::optional<PropertyType> type_of(const EntitySetOptions& e, std::string_view name) {
  for (const auto& [n, t] : e.properties)
    if (n == name) return t;
  if (!e.id_property.empty() && name == e.id_property) return PropertyType::String;
  for (const auto& k : e.key_properties)
    if (k == name) return PropertyType::String;
  return std::nullopt;
}

void validate_entity_set(const SimOptions& o, const EntitySetOptions& e, const std::string& prefix,
                         std::vector<std::string>& p) {
  if (e.name.empty()) p.push_back(prefix + "name: must not be empty");
  if (e.key_properties.empty()) p.push_back(prefix + "key_properties: must not be empty");
  for (const auto& k : e.key_properties) {
    if (!e.id_property.empty() && k == e.id_property)
      p.push_back(prefix + "key_properties: '" + k + "' is the id_property");
    const auto t = type_of(e, k);
    if (t && *t != PropertyType::String && *t != PropertyType::Integer)
      p.push_back(prefix + "key_properties: '" + k + "' must be declared string or integer");
  }
  if (std::set<std::string>(e.key_properties.begin(), e.key_properties.end()).size() !=
      e.key_properties.size())
    p.push_back(prefix + "key_properties: a property is named twice");
  const auto declared = [&](const std::vector<std::string>& names, const std::string& key) {
    for (const auto& n : names)
      if (!type_of(e, n)) p.push_back(prefix + key + ": '" + n + "' is not a declared property");
  };
  declared(e.required_properties, "required_properties");
  declared(e.unique_properties, "unique_properties");
  if (!e.company_property.empty()) {
    const auto t = type_of(e, e.company_property);
    if (!t) p.push_back(prefix + "company_property: '" + e.company_property + "' is not a declared property");
    else if (*t != PropertyType::String)
      p.push_back(prefix + "company_property: '" + e.company_property + "' must be a string property");
    if (o.default_company.empty())
      p.push_back(prefix + "company_property: needs a non-empty default_company");
  }
  if (!e.parent.entity_set.empty() || !e.parent.properties.empty()) {
    const EntitySetOptions* parent = nullptr;
    for (const auto& s : o.entity_sets)
      if (s.name == e.parent.entity_set) parent = &s;
    if (!parent || parent == &e) {
      p.push_back(prefix + "parent.entity_set: '" + e.parent.entity_set +
                  "' must name another entity set");
    } else if (parent->key_properties.size() != e.parent.properties.size()) {
      p.push_back(prefix + "parent.properties: needs one property per key property of " +
                  parent->name + " (" + std::to_string(parent->key_properties.size()) + ")");
    } else {
      declared(e.parent.properties, "parent.properties");
      for (std::size_t i = 0; i < e.parent.properties.size(); ++i) {
        const auto mine = type_of(e, e.parent.properties[i]);
        const auto theirs = type_of(*parent, parent->key_properties[i]);
        if (mine && theirs && *mine != *theirs)
          p.push_back(prefix + "parent.properties: '" + e.parent.properties[i] +
                      "' must have the type of " + parent->name + "." + parent->key_properties[i]);
      }
    }
  }
}

}  // namespace

std::optional<Profile> parse_profile(std::string_view name) {
  if (name == "dataverse") return Profile::Dataverse;
  if (name == "finance_operations") return Profile::FinanceOperations;
  return std::nullopt;
}

std::string_view to_string(Profile profile) {
  return profile == Profile::FinanceOperations ? "finance_operations" : "dataverse";
}

SimOptions SimOptions::finance_operations() {
  SimOptions o;
  o.profile = Profile::FinanceOperations;
  o.service_root = "/data";
  o.error_style = ErrorStyle::FinanceOperations;
  // Not documented by Microsoft where we can search: our assumption (docs/simulator.md).
  o.duplicate_status = 400;
  o.default_company = "usmf";
  EntitySetOptions header;
  header.name = "VendorInvoiceHeaders";
  header.id_property.clear();
  header.key_properties = {"dataAreaId", "HeaderReference"};
  header.properties = {{"dataAreaId", PropertyType::String},    {"HeaderReference", PropertyType::String},
                       {"InvoiceNumber", PropertyType::String}, {"VendorAccount", PropertyType::String},
                       {"InvoiceDate", PropertyType::Date},     {"DueDate", PropertyType::Date},
                       {"Currency", PropertyType::String},      {"InvoiceDescription", PropertyType::String}};
  header.required_properties = {"InvoiceNumber"};
  // Accounts payable's "reject duplicate invoice number" per vendor.
  header.unique_properties = {"dataAreaId", "VendorAccount", "InvoiceNumber"};
  header.company_property = "dataAreaId";
  header.entity_type = "VendorInvoiceHeaderEntity";
  header.table_label = "Pending vendor invoice header (VendInvoiceInfoTable)";
  EntitySetOptions line;
  line.name = "VendorInvoiceLines";
  line.id_property.clear();
  line.key_properties = {"dataAreaId", "HeaderReference", "InvoiceLineNumber"};
  line.properties = {{"dataAreaId", PropertyType::String},      {"HeaderReference", PropertyType::String},
                     {"InvoiceLineNumber", PropertyType::Integer}, {"ItemNumber", PropertyType::String},
                     {"LineDescription", PropertyType::String}, {"ReceiveNow", PropertyType::Decimal},
                     {"UnitPrice", PropertyType::Decimal},      {"Amount", PropertyType::Decimal}};
  line.company_property = "dataAreaId";
  line.parent = {"VendorInvoiceHeaders", {"dataAreaId", "HeaderReference"}};
  line.entity_type = "VendorInvoiceLineEntity";
  line.table_label = "Pending vendor invoice lines (VendInvoiceInfoLine)";
  o.entity_sets = {std::move(header), std::move(line)};
  return o;
}

SimOptions SimOptions::for_profile(Profile profile) {
  return profile == Profile::FinanceOperations ? finance_operations() : SimOptions{};
}

std::vector<std::string> validate(const SimOptions& o) {
  std::vector<std::string> p;
  if (o.service_root.empty() || o.service_root.front() != '/')
    p.push_back("service_root: must start with '/'");
  if (o.tls.cert_file.empty() != o.tls.key_file.empty())
    p.push_back("tls: give both cert_file and key_file, or neither");
  const bool fno = o.error_style == ErrorStyle::FinanceOperations;
  const int s = o.duplicate_status;
  if (fno ? (s != 400 && s != 409 && s != 412 && s != 500) : (s != 409 && s != 412))
    p.push_back(fno ? "duplicate_status: must be 400, 409, 412 or 500 (error_style finance_operations)"
                    : "duplicate_status: must be 409 or 412 (400 and 500 need error_style finance_operations)");
  if (o.entity_sets.empty()) p.push_back("entity_sets: must not be empty");
  std::set<std::string> names;
  for (std::size_t i = 0; i < o.entity_sets.size(); ++i) {
    const auto& e = o.entity_sets[i];
    const std::string prefix = "entity_sets[" + std::to_string(i) + "].";
    if (!e.name.empty() && !names.insert(e.name).second)
      p.push_back(prefix + "name: '" + e.name + "' is used by another entity set");
    validate_entity_set(o, e, prefix, p);
  }
  return p;
}

SimOptions parse_options(std::string_view text, SimOptions base) {
  Problems p;
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec) throw std::invalid_argument("simulator config: not JSON: " + ec.message());
  if (!doc.is_object()) throw std::invalid_argument("simulator config: expected a JSON object");
  SimOptions o = std::move(base);
  // The profile is the base the other keys apply to, wherever it stands in the file.
  if (const auto* pv = doc.get_object().if_contains("profile")) {
    const auto profile = pv->is_string() ? parse_profile(pv->get_string()) : std::nullopt;
    if (profile) o = SimOptions::for_profile(*profile);
    else p.add("profile: must be \"dataverse\" or \"finance_operations\"");
  }
  for (const auto& [k, v] : doc.get_object()) {
    const std::string key(k);
    if (k == "profile") continue;
    else if (k == "listen_address") read_string(v, key, o.listen_address, p);
    else if (k == "port") {
      read_uint(v, key, o.port, p);
    } else if (k == "service_root") read_string(v, key, o.service_root, p);
    else if (k == "public_base_url") read_string(v, key, o.public_base_url, p);
    else if (k == "duplicate_status") read_uint(v, key, o.duplicate_status, p);
    else if (k == "error_style") {
      if (!v.is_string() || !parse_error_style(v.get_string(), o.error_style))
        p.add("error_style: must be \"dataverse\" or \"finance_operations\"");
    } else if (k == "default_company") read_string(v, key, o.default_company, p);
    else if (k == "max_batch_requests") read_uint(v, key, o.max_batch_requests, p);
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
  while (o.service_root.size() > 1 && o.service_root.back() == '/') o.service_root.pop_back();
  for (auto& problem : validate(o)) p.add(std::move(problem));
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
