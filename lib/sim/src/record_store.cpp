#include "record_store.hpp"

#include "json_text.hpp"
#include "odata_query.hpp"
#include "seeded_random.hpp"
#include "text.hpp"

#include "core/utf8.hpp"

#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <stdexcept>

namespace ib::sim {

namespace json = boost::json;

namespace {

constexpr std::string_view kDuplicateCode = "0x80040237";
constexpr std::string_view kDuplicateMessage = "A record with matching key values already exists.";

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  const int m = (s[5] - '0') * 10 + (s[6] - '0');
  const int d = (s[8] - '0') * 10 + (s[9] - '0');
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

// Transparent hashing so string_view lookups need no temporary std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = boost::unordered_flat_map<std::string, V, StringHash, std::equal_to<>>;

// Alternate key values joined by 0x1f: the by_key and creates_per_key index.
std::string join_key(const std::vector<std::string>& values) {
  std::string k;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) k.push_back('\x1f');
    k += values[i];
  }
  return k;
}

// A URL path segment: bytes outside RFC 3986 pchar (space, '%', '/', '?', '#', controls,
// non-ASCII) percent-encoded, so a key value cannot break the URL or its header.
std::string encode_segment(std::string_view s) {
  static constexpr std::string_view kSafe = "-._~!$&'()*+,;=:@";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || kSafe.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The canonical text of an Edm.Int64 literal, or nullopt.
std::optional<std::string> integer_text(std::string_view s) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return std::to_string(n);
}

}  // namespace

struct RecordStore::Record {
  std::string id;
  std::vector<std::string> key;
  json::object props;  // without the id property
  std::uint64_t seq = 0;
  std::uint64_t version = 1;
  // When the record was created (or loaded): benchmarks measure latency to D365 from it.
  std::chrono::system_clock::time_point created_at = std::chrono::system_clock::now();
};

struct RecordStore::EntitySet {
  EntitySetOptions opt;
  StringMap<PropertyType> types;
  std::vector<PropertyType> key_types;  // String or Integer, in key order
  const EntitySet* parent = nullptr;    // opt.parent.entity_set, resolved
  StringMap<Record> by_id;
  StringMap<std::string> by_key;  // joined key -> id
  StringMap<std::string> by_unique;  // joined unique_properties values -> id
  StringMap<std::uint32_t> creates_per_key;

  // The records in creation order.
  std::vector<const Record*> in_creation_order() const {
    std::vector<const Record*> rs;
    for (const auto& [id, r] : by_id) rs.push_back(&r);
    std::sort(rs.begin(), rs.end(), [](const Record* a, const Record* b) { return a->seq < b->seq; });
    return rs;
  }
};

// One undoable change inside a change set.
struct RecordStore::Undo {
  enum class Kind { Created, Updated, Deleted } kind;
  EntitySet* set;
  Record before;  // Updated/Deleted: the old record; Created: the new record (for its id/key)
};

RecordStore::RecordStore(const SimOptions& options, SeededRandom& random, SimStats& stats)
    : opt_(options), random_(random), st_(stats) {
  for (const auto& e : opt_.entity_sets) {
    auto set = std::make_unique<EntitySet>();
    set->opt = e;
    for (const auto& [n, t] : e.properties) set->types[n] = t;
    for (const auto& k : e.key_properties) {
      set->types.emplace(k, PropertyType::String);
      set->key_types.push_back(set->types.find(k)->second);
    }
    sets_.push_back(std::move(set));
  }
  for (auto& set : sets_)
    if (!set->opt.parent.entity_set.empty()) set->parent = find_set(set->opt.parent.entity_set);
}

RecordStore::~RecordStore() = default;

void RecordStore::set_service_base(std::string base) { base_ = std::move(base); }

RecordStore::EntitySet* RecordStore::find_set(std::string_view name) {
  for (auto& s : sets_)
    if (s->opt.name == name) return s.get();
  return nullptr;
}

std::string RecordStore::entity_url(const EntitySet& set, const std::string& id) const {
  return base_ + "/" + set.opt.name + "(" + encode_segment(id) + ")";
}

std::string RecordStore::key_literal(const EntitySet& set, const std::vector<std::string>& key) const {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i) out += ',';
    out += set.opt.key_properties[i] + "=";
    if (set.key_types[i] == PropertyType::Integer) {
      out += key[i];
      continue;
    }
    out += '\'';
    for (char c : key[i]) {
      if (c == '\'') out += '\'';
      out += c;
    }
    out += '\'';
  }
  return out;
}

bool RecordStore::key_value(const EntitySet& set, std::size_t i, const json::value& v,
                            std::string& out) const {
  if (set.key_types[i] == PropertyType::Integer) {
    if (v.is_int64()) out = std::to_string(v.get_int64());
    else if (v.is_uint64()) out = std::to_string(v.get_uint64());
    else return false;
    return true;
  }
  if (!v.is_string()) return false;
  out = std::string(v.get_string());
  return true;
}

std::optional<Response> RecordStore::key_of(const EntitySet& set, const json::object& props,
                                            std::vector<std::string>& key) const {
  key.assign(set.opt.key_properties.size(), {});
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto& kp = set.opt.key_properties[i];
    auto it = props.find(kp);
    if (it == props.end() || it->value().is_null()) return missing_field(set, kp, true);
    if (!key_value(set, i, it->value(), key[i]))
      return error_response(opt_.error_style, 400, "0x80048d19",
                            "Error identified in Payload provided by the user for Entity :'" +
                                set.opt.name + "': alternate key property '" + kp +
                                "' is required (" +
                                (set.key_types[i] == PropertyType::Integer ? "an integer" : "a string") + ")");
  }
  return std::nullopt;
}

std::optional<std::string> RecordStore::unique_of(const EntitySet& set, const json::object& props) const {
  if (set.opt.unique_properties.empty()) return std::nullopt;
  std::vector<std::string> values;
  for (const auto& u : set.opt.unique_properties) {
    auto it = props.find(u);
    if (it == props.end() || it->value().is_null()) return std::nullopt;
    values.push_back(dump(it->value()));
  }
  return join_key(values);
}

bool RecordStore::visible(const EntitySet& set, const Record& r, bool cross_company) const {
  if (set.opt.company_property.empty() || cross_company) return true;
  auto it = r.props.find(set.opt.company_property);
  return it != r.props.end() && it->value().is_string() && it->value().get_string() == opt_.default_company;
}

json::object RecordStore::to_json(const EntitySet& set, const Record& r,
                                  const std::vector<std::string>* select, bool annotations) const {
  json::object o;
  if (annotations) {
    o["@odata.context"] = base_ + "/$metadata#" + set.opt.name + "/$entity";
    o["@odata.etag"] = "W/\"" + std::to_string(r.version) + "\"";
  }
  auto want = [&](std::string_view n) {
    return !select || std::find(select->begin(), select->end(), n) != select->end();
  };
  for (const auto& [k, v] : r.props)
    if (want(k)) o[k] = v;
  if (!set.opt.id_property.empty()) o[set.opt.id_property] = r.id;
  return o;
}

// ---- validation ------------------------------------------------------------------------

// Checks body properties against the set's schema; returns an error response or nullopt.
std::optional<Response> RecordStore::validate(const EntitySet& set, const json::object& body) const {
  for (const auto& [k, v] : body) {
    if (k.find('@') != json::string::npos) continue;  // annotations, @odata.bind
    if (!set.opt.id_property.empty() && k == set.opt.id_property) {
      if (!v.is_string() || !is_guid(v.get_string()))
        return error_response(opt_.error_style, 400, "0x80048d19",
                              "Error identified in Payload provided by the user for Entity :'" +
                                  set.opt.name + "': '" + std::string(k) + "' must be a GUID");
      continue;
    }
    auto it = set.types.find(std::string_view(k));
    if (it == set.types.end()) {
      if (set.opt.allow_unknown_properties) continue;
      return error_response(opt_.error_style, 400, "0x80060888",
                            "Invalid property '" + std::string(k) + "' was found in entity '" +
                                set.opt.name + "'.");
    }
    if (v.is_null()) continue;
    bool ok = true;
    const char* want = "";
    switch (it->second) {
      case PropertyType::String: ok = v.is_string(); want = "a string"; break;
      case PropertyType::Decimal: ok = v.is_number() || is_raw_number(v); want = "a decimal number"; break;
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
      return error_response(opt_.error_style, 400, "0x80048d19",
                            "Error identified in Payload provided by the user for Entity :'" +
                                set.opt.name + "': property '" + std::string(k) + "' must be " +
                                want);
  }
  return std::nullopt;
}

std::optional<Response> RecordStore::parse_body(const EntitySet& set, std::string_view body,
                                                json::object& out) const {
  boost::system::error_code ec;
  auto v = parse_exact(body, ec);  // decimals keep their text: D365 stores them exactly
  if (ec || !v.is_object() || is_raw_number(v))
    return error_response(opt_.error_style, 400, "0x80048d19",
                          "Error identified in Payload provided by the user for Entity :'" +
                              set.opt.name + "': the body must be a JSON object" +
                              (ec ? " (" + ec.message() + ")" : std::string()));
  out = std::move(v.get_object());
  return std::nullopt;
}

// ---- record operations -----------------------------------------------------------------

std::string RecordStore::write_failed(const EntitySet& set, std::string_view infolog) const {
  return "Write failed for table row of type '" +
         (set.opt.entity_type.empty() ? set.opt.name : set.opt.entity_type) +
         "'. Infolog: Error: " + std::string(infolog);
}

std::string RecordStore::table_label(const EntitySet& set) const {
  return set.opt.table_label.empty() ? set.opt.name : set.opt.table_label;
}

Response RecordStore::duplicate(const EntitySet& set, bool create) {
  ++st_.duplicate_rejections;
  if (opt_.error_style == ErrorStyle::FinanceOperations)
    return error_response(opt_.error_style, opt_.duplicate_status, "",
                          write_failed(set, std::string(create ? "Cannot create" : "Cannot edit") +
                                                " a record in " + table_label(set) +
                                                ". The record already exists."));
  return error_response(opt_.error_style, opt_.duplicate_status, kDuplicateCode, kDuplicateMessage);
}

Response RecordStore::missing_field(const EntitySet& set, const std::string& property, bool key) const {
  if (opt_.error_style == ErrorStyle::FinanceOperations)
    return error_response(opt_.error_style, 400, "",
                          write_failed(set, "Field '" + property + "' must be filled in."));
  return error_response(opt_.error_style, 400, "0x80048d19",
                        "Error identified in Payload provided by the user for Entity :'" + set.opt.name +
                            "': " + (key ? "alternate key property '" : "property '") + property +
                            (key ? "' is required (a string)" : "' is required"));
}

std::optional<Response> RecordStore::check_parent(const EntitySet& set, const json::object& props) const {
  if (!set.parent) return std::nullopt;
  const auto& parent = *set.parent;
  std::vector<std::string> key(set.opt.parent.properties.size());
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto& p = set.opt.parent.properties[i];
    auto it = props.find(p);
    if (it == props.end() || it->value().is_null()) return missing_field(set, p, false);
    if (!key_value(parent, i, it->value(), key[i]))
      return error_response(opt_.error_style, 400, "0x80048d19",
                            "Error identified in Payload provided by the user for Entity :'" +
                                set.opt.name + "': property '" + p + "' has the wrong type");
  }
  if (parent.by_key.contains(join_key(key))) return std::nullopt;
  const auto named = parent.opt.name + "(" + key_literal(parent, key) + ")";
  if (opt_.error_style == ErrorStyle::FinanceOperations)
    return error_response(opt_.error_style, 400, "",
                          write_failed(set, "Cannot create a record in " + table_label(set) +
                                                ". The parent record " + named + " does not exist."));
  return error_response(opt_.error_style, 400, "0x80040217",
                        named + " Does Not Exist: a " + set.opt.name + " record needs it.");
}

Response RecordStore::not_found(const EntitySet& set, std::string_view what) const {
  if (opt_.error_style == ErrorStyle::FinanceOperations)
    return error_response(opt_.error_style, 404, "",
                          "No resource of " + set.opt.name + " matches the key (" + std::string(what) + ").");
  std::string shown(what);
  std::replace(shown.begin(), shown.end(), '\x1f', ',');
  return error_response(opt_.error_style, 404, "0x80040217",
                        set.opt.name + " With Ids = " + shown + " Does Not Exist");
}

// The answer to a create (201 with `Location`) or an update (200): the record with
// return=representation, else 204.
Response RecordStore::written(const EntitySet& set, const Record& r, bool representation,
                              int representation_status, bool location) const {
  Response res;
  if (representation) {
    res = json_response(representation_status, dump(to_json(set, r, nullptr, true)));
    res.headers.emplace_back("Preference-Applied", "return=representation");
  } else {
    res.status = 204;
    res.headers.emplace_back("OData-Version", "4.0");
  }
  res.headers.emplace_back("OData-EntityId", entity_url(set, r.id));
  if (location) res.headers.emplace_back("Location", entity_url(set, r.id));
  return res;
}

// Inserts a validated record. `body` holds the properties; `id` empty = generate (the key
// form when the set has no id property). A client's create (`from_client`) is counted in
// the stats and needs its parent record; a loaded record's parent is checked after loading.
Response RecordStore::insert(EntitySet& set, json::object body, std::string id,
                             bool representation, bool from_client) {
  if (!set.opt.id_property.empty()) {
    auto idp = body.find(set.opt.id_property);
    if (idp != body.end()) {
      if (id.empty()) id = to_lower(idp->value().get_string());
      body.erase(idp);
    }
  }
  if (!set.opt.company_property.empty()) {
    auto c = body.find(set.opt.company_property);
    if (c == body.end() || c->value().is_null()) body[set.opt.company_property] = opt_.default_company;
  }
  std::vector<std::string> key;
  if (auto err = key_of(set, body, key)) return *err;
  if (auto err = check_required(set, body)) return *err;
  if (from_client)
    if (auto err = check_parent(set, body)) return *err;
  if (set.opt.id_property.empty()) id = key_literal(set, key);
  else if (id.empty()) id = random_.guid();
  if (set.by_id.contains(id)) return duplicate(set, true);
  auto joined = join_key(key);
  if (set.by_key.contains(joined)) return duplicate(set, true);
  if (auto unique = unique_of(set, body); unique && set.by_unique.contains(*unique))
    return duplicate(set, true);
  Record r;
  r.id = id;
  r.key = std::move(key);
  r.props = std::move(body);
  r.seq = ++seq_;
  const Record& stored = add(set, std::move(r));
  if (from_client) {
    ++set.creates_per_key[joined];
    ++st_.creates;
  }
  if (atomic_) undo_.push_back(Undo{Undo::Kind::Created, &set, stored});
  return written(set, stored, representation, 201, true);
}

std::optional<Response> RecordStore::check_required(const EntitySet& set, const json::object& props) const {
  for (const auto& rp : set.opt.required_properties) {
    auto it = props.find(rp);
    if (it == props.end() || it->value().is_null() ||
        (it->value().is_string() && it->value().get_string().empty()))
      return missing_field(set, rp, false);
  }
  return std::nullopt;
}

// Applies `body` onto an existing record (PATCH update).
Response RecordStore::update(EntitySet& set, Record& r, const json::object& body,
                             bool representation) {
  std::vector<std::string> key = r.key;
  for (std::size_t i = 0; i < set.opt.key_properties.size(); ++i) {
    auto it = body.find(set.opt.key_properties[i]);
    if (it == body.end()) continue;
    if (!key_value(set, i, it->value(), key[i]))
      return error_response(opt_.error_style, 400, "0x80048d19",
                            "alternate key property '" + set.opt.key_properties[i] + "' must be " +
                                (set.key_types[i] == PropertyType::Integer ? "an integer" : "a string"));
  }
  const auto new_joined = join_key(key);
  if (new_joined != join_key(r.key)) {
    // Without an id the key is the record's identity.
    if (set.opt.id_property.empty())
      return error_response(opt_.error_style, 400, "0x80048d19",
                            "The key properties of a " + set.opt.name + " record cannot be changed.");
    if (set.by_key.contains(new_joined)) return duplicate(set, false);
  }
  Record after = r;
  after.key = std::move(key);
  for (const auto& [k, v] : body)
    if (set.opt.id_property.empty() || k != set.opt.id_property) after.props[k] = v;
  if (auto err = check_required(set, after.props)) return *err;
  if (!set.opt.company_property.empty()) {
    const auto* c = after.props.if_contains(set.opt.company_property);
    if (!c || !c->is_string()) return missing_field(set, set.opt.company_property, false);
  }
  if (auto unique = unique_of(set, after.props); unique) {
    auto other = set.by_unique.find(*unique);
    if (other != set.by_unique.end() && other->second != r.id) return duplicate(set, false);
  }
  if (set.parent && std::any_of(set.opt.parent.properties.begin(), set.opt.parent.properties.end(),
                                [&](const std::string& p) { return body.contains(p); }))
    if (auto err = check_parent(set, after.props)) return *err;
  ++after.version;
  Record before = r;
  erase(set, before.id);  // `r` is gone from here on
  const Record& stored = add(set, std::move(after));
  ++st_.updates;
  if (atomic_) undo_.push_back(Undo{Undo::Kind::Updated, &set, std::move(before)});
  return written(set, stored, representation, 200, false);
}

const RecordStore::Record& RecordStore::add(EntitySet& set, Record r) {
  set.by_key.emplace(join_key(r.key), r.id);
  if (auto unique = unique_of(set, r.props)) set.by_unique.emplace(*unique, r.id);
  const auto id = r.id;
  return set.by_id.insert_or_assign(id, std::move(r)).first->second;
}

void RecordStore::erase(EntitySet& set, const std::string& id) {
  auto it = set.by_id.find(id);
  if (it == set.by_id.end()) return;
  set.by_key.erase(join_key(it->second.key));
  if (auto unique = unique_of(set, it->second.props)) {
    auto u = set.by_unique.find(*unique);
    if (u != set.by_unique.end() && u->second == id) set.by_unique.erase(u);
  }
  set.by_id.erase(it);
}

void RecordStore::begin_atomic() {
  undo_.clear();
  atomic_ = true;
}

void RecordStore::end_atomic(bool commit) {
  atomic_ = false;
  if (!commit) {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      auto& set = *it->set;
      switch (it->kind) {
        case Undo::Kind::Created: {
          erase(set, it->before.id);
          const auto joined = join_key(it->before.key);
          auto c = set.creates_per_key.find(joined);
          if (c != set.creates_per_key.end() && --c->second == 0) set.creates_per_key.erase(c);
          --st_.creates;
          break;
        }
        case Undo::Kind::Updated:
          erase(set, it->before.id);
          add(set, it->before);
          --st_.updates;
          break;
        case Undo::Kind::Deleted:
          add(set, it->before);
          --st_.deletes;
          break;
      }
    }
  }
  undo_.clear();
}

// ---- one OData operation ---------------------------------------------------------------

Response RecordStore::execute(std::string_view method, std::string_view path,
                              std::string_view query, const HeaderList& headers,
                              std::string_view body) {
  ++st_.operations;
  const auto decoded = percent_decode(path, false);
  ResourcePath rp;
  if (auto err = parse_resource_path(decoded, rp); !err.empty())
    return error_response(opt_.error_style, 400, "0x80060888", "Resource not found for the segment: " + err);
  if (rp.entity_set == "$batch") return error_response(opt_.error_style, 400, "0x80060888", "A batch cannot contain another batch.");
  EntitySet* set = find_set(rp.entity_set);
  if (!set)
    return error_response(opt_.error_style, 404, "0x80060888",
                          "Resource not found for the segment '" + rp.entity_set + "'.");
  const bool representation = icontains(header_or(headers, "Prefer"), "return=representation");

  // Locate the addressed record (by id or alternate key) when there is a key predicate.
  Record* rec = nullptr;
  std::string by_id;
  std::vector<std::string> key_values;
  if (rp.has_key) {
    const bool primary = !set->opt.id_property.empty() && rp.key.size() == 1 &&
                         ((rp.key[0].first.empty() && is_guid(rp.key[0].second) && rp.key_is_guid) ||
                          rp.key[0].first == set->opt.id_property);
    if (primary) {
      by_id = to_lower(rp.key[0].second);
      auto it = set->by_id.find(by_id);
      if (it != set->by_id.end()) rec = &it->second;
    } else {
      key_values.resize(set->opt.key_properties.size());
      std::vector<bool> seen(key_values.size(), false);
      for (std::size_t j = 0; j < rp.key.size(); ++j) {
        const auto& [n, v] = rp.key[j];
        std::size_t i = 0;
        if (n.empty() && set->opt.key_properties.size() == 1) i = 0;
        else {
          for (i = 0; i < set->opt.key_properties.size(); ++i)
            if (set->opt.key_properties[i] == n) break;
          if (i == set->opt.key_properties.size())
            return error_response(opt_.error_style, 400, "0x80060888",
                                  "The key '" + n + "' is not an alternate key of " + set->opt.name + ".");
        }
        if (set->key_types[i] == PropertyType::Integer) {
          // An Edm.Int64 key literal is unquoted: `InvoiceLineNumber=1`.
          auto canonical = rp.key_quoted[j] ? std::nullopt : integer_text(v);
          if (!canonical)
            return error_response(opt_.error_style, 400, "0x80060888",
                                  "The key '" + set->opt.key_properties[i] +
                                      "' is an integer: write it unquoted (" +
                                      set->opt.key_properties[i] + "=1).");
          key_values[i] = std::move(*canonical);
        } else {
          key_values[i] = v;
        }
        seen[i] = true;
      }
      if (std::find(seen.begin(), seen.end(), false) != seen.end())
        return error_response(opt_.error_style, 400, "0x80060888",
                              "The key predicate must name every alternate key property of " +
                                  set->opt.name + ".");
      auto k = set->by_key.find(join_key(key_values));
      if (k != set->by_key.end()) rec = &set->by_id.find(k->second)->second;
    }
  }
  const auto absent = [&] {
    if (!by_id.empty()) return not_found(*set, by_id);
    return not_found(*set, set->opt.id_property.empty() ? key_literal(*set, key_values) : join_key(key_values));
  };

  if (method == "GET") {
    QueryOptions q;
    const auto query_error = parse_query_options(query, q);
    if (rp.count_segment) {
      std::size_t n = 0;
      for (const auto& [id, r] : set->by_id) n += visible(*set, r, q.cross_company) ? 1 : 0;
      Response r;
      r.status = 200;
      r.headers.emplace_back("Content-Type", "text/plain");
      r.body = std::to_string(n);
      return r;
    }
    if (!query_error.empty()) return error_response(opt_.error_style, 400, "0x80060888", query_error);
    if (rp.has_key) {
      // Another company's record is not there for a query that is not cross-company.
      if (!rec || !visible(*set, *rec, q.cross_company)) return absent();
      return json_response(200, dump(to_json(*set, *rec, q.select ? &*q.select : nullptr, true)));
    }
    return collection(*set, q);
  }
  if (method == "POST") {
    if (rp.has_key) return error_response(opt_.error_style, 405, "0x80060888", "POST is not allowed on a single record.");
    json::object obj;
    if (auto err = parse_body(*set, body, obj)) return *err;
    if (auto err = validate(*set, obj)) return *err;
    return insert(*set, std::move(obj), {}, representation, true);
  }
  if (method == "PATCH" || method == "PUT") {
    if (!rp.has_key) return error_response(opt_.error_style, 405, "0x80060888", "PATCH needs a key.");
    json::object obj;
    if (auto err = parse_body(*set, body, obj)) return *err;
    if (auto err = validate(*set, obj)) return *err;
    const auto if_match = find_header(headers, "If-Match");
    const auto if_none = find_header(headers, "If-None-Match");
    if (rec) {
      if (if_none && *if_none == "*") return duplicate(*set, true);
      if (if_match && *if_match != "*" &&
          *if_match != "W/\"" + std::to_string(rec->version) + "\"")
        return error_response(opt_.error_style, 412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.");
      return update(*set, *rec, obj, representation);
    }
    if (if_match) return absent();
    // Upsert create: the URL's key wins over the body's. A record holds UTF-8 only (its
    // answers are JSON), and a percent-decoded URL need not be.
    for (std::size_t i = 0; i < key_values.size(); ++i) {
      if (!core::is_valid_utf8(key_values[i]))
        return error_response(opt_.error_style, 400, "0x80060888",
                              "The key value of '" + set->opt.key_properties[i] + "' is not UTF-8.");
      if (set->key_types[i] == PropertyType::Integer)
        obj[set->opt.key_properties[i]] = std::stoll(key_values[i]);
      else
        obj[set->opt.key_properties[i]] = key_values[i];
    }
    return insert(*set, std::move(obj), by_id, representation, true);
  }
  if (method == "DELETE") {
    if (!rp.has_key) return error_response(opt_.error_style, 405, "0x80060888", "DELETE needs a key.");
    if (!rec) return absent();
    if (atomic_) undo_.push_back(Undo{Undo::Kind::Deleted, set, *rec});
    erase(*set, rec->id);
    ++st_.deletes;
    Response r;
    r.status = 204;
    r.headers.emplace_back("OData-Version", "4.0");
    return r;
  }
  return error_response(opt_.error_style, 405, "0x80060888", "Method " + std::string(method) + " is not supported.");
}

Response RecordStore::execute_bulk(std::string_view entity_set, bool upsert, std::string_view body,
                                   std::size_t& processed) {
  processed = 0;
  ++st_.bulk_messages;
  const std::string action = upsert ? "UpsertMultiple" : "CreateMultiple";
  EntitySet* set = find_set(percent_decode(entity_set, false));
  if (!set)
    return error_response(opt_.error_style, 404, "0x80060888",
                          "Resource not found for the segment '" + std::string(entity_set) + "'.");
  const auto refused = [&](Response r) {
    ++st_.bulk_rolled_back;
    return r;
  };
  const auto payload_error = [&](const std::string& what) {
    return refused(error_response(opt_.error_style, 400, "0x80048d19",
                                  "Error identified in Payload provided by the user for Entity :'" +
                                      set->opt.name + "': " + what));
  };
  boost::system::error_code ec;
  auto doc = parse_exact(body, ec);
  if (ec || !doc.is_object() || is_raw_number(doc)) return payload_error(action + " needs a JSON object body");
  auto* targets_value = doc.get_object().if_contains("Targets");
  if (!targets_value || !targets_value->is_array() || targets_value->get_array().empty())
    return payload_error(action + " needs a non-empty 'Targets' array");

  // Everything is checked before anything runs: schema, @odata.type, keys unique in the request.
  std::vector<json::object> targets;
  std::vector<std::string> joined_keys;
  std::vector<std::vector<std::string>> keys;
  StringMap<std::size_t> seen;
  constexpr std::string_view kTypePrefix = "Microsoft.Dynamics.CRM.";
  for (auto& tv : targets_value->get_array()) {
    if (!tv.is_object() || is_raw_number(tv)) return payload_error("every item in Targets must be an object");
    auto obj = std::move(tv.get_object());
    auto type = obj.find("@odata.type");
    if (type == obj.end() || !type->value().is_string() ||
        !std::string_view(type->value().get_string()).starts_with(kTypePrefix))
      return payload_error("every item in Targets needs an '@odata.type' annotation (" +
                           std::string(kTypePrefix) + "<logical name>)");
    obj.erase(type);
    // UpsertMultiple may address a target by `"@odata.id":"<Set>(<alternate key>)"`.
    if (auto odata_id = obj.find("@odata.id"); odata_id != obj.end()) {
      ResourcePath rp;
      if (!odata_id->value().is_string() ||
          !parse_resource_path(percent_decode(std::string_view(odata_id->value().get_string()), false), rp).empty() ||
          rp.entity_set != set->opt.name || !rp.has_key)
        return payload_error("'@odata.id' must be " + set->opt.name + "(<alternate key>)");
      for (const auto& [n, v] : rp.key) {
        if (std::find(set->opt.key_properties.begin(), set->opt.key_properties.end(), n) ==
            set->opt.key_properties.end())
          return payload_error("'" + n + "' in '@odata.id' is not an alternate key property");
        obj[n] = v;
      }
      obj.erase(obj.find("@odata.id"));
    }
    if (auto err = validate(*set, obj)) return refused(*err);
    if (!set->opt.company_property.empty() && !obj.contains(set->opt.company_property))
      obj[set->opt.company_property] = opt_.default_company;
    std::vector<std::string> key;
    if (auto err = key_of(*set, obj, key)) return refused(*err);
    auto joined = join_key(key);
    if (!seen.emplace(joined, targets.size()).second) {
      std::replace(joined.begin(), joined.end(), '\x1f', ',');
      return payload_error("Targets holds more than one record with the key (" + joined + ")");
    }
    joined_keys.push_back(std::move(joined));
    keys.push_back(std::move(key));
    targets.push_back(std::move(obj));
  }

  begin_atomic();
  json::array ids;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    ++processed;
    ++st_.operations;
    auto& obj = targets[i];
    std::string id;
    Response r;
    auto existing = upsert ? set->by_key.find(joined_keys[i]) : set->by_key.end();
    if (existing != set->by_key.end()) {
      id = existing->second;
      r = update(*set, set->by_id.find(id)->second, obj, false);
    } else {
      if (set->opt.id_property.empty()) {
        id = key_literal(*set, keys[i]);  // the identity of a set without an id
      } else {
        auto idp = obj.find(set->opt.id_property);
        id = idp != obj.end() ? to_lower(idp->value().get_string()) : random_.guid();
      }
      r = insert(*set, std::move(obj), id, false, true);
    }
    if (r.status >= 400) {
      end_atomic(false);
      return refused(std::move(r));
    }
    ids.push_back(json::string(id));
  }
  end_atomic(true);
  json::object o{{"@odata.context", base_ + "/$metadata#Microsoft.Dynamics.CRM." + action + "Response"},
                 {"Ids", std::move(ids)}};
  return json_response(200, dump(o));
}

Response RecordStore::collection(const EntitySet& set, const QueryOptions& q) const {
  std::vector<const Record*> hits;
  for (const auto* r : set.in_creation_order()) {
    if (!visible(set, *r, q.cross_company)) continue;
    if (q.filter && !q.filter->matches([&](std::string_view prop) -> const json::value* {
          static const json::value null_value;
          thread_local json::value id_value;
          if (!set.opt.id_property.empty() && prop == set.opt.id_property) {
            id_value = json::string(r->id);
            return &id_value;
          }
          thread_local json::value number_value;
          auto it = r->props.find(prop);
          if (it == r->props.end()) return &null_value;
          if (!is_raw_number(it->value())) return &it->value();
          number_value = numeric_view(it->value());  // compared as a double
          return &number_value;
        }))
      continue;
    hits.push_back(r);
  }
  const auto total = hits.size();
  if (q.skip) hits.erase(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(std::min(*q.skip, hits.size())));
  if (q.top && hits.size() > *q.top) hits.resize(*q.top);
  json::object o;
  o["@odata.context"] = base_ + "/$metadata#" + set.opt.name;
  if (q.count) o["@odata.count"] = total;
  json::array values;
  for (const auto* r : hits) values.push_back(to_json(set, *r, q.select ? &*q.select : nullptr, false));
  o["value"] = std::move(values);
  return json_response(200, dump(o));
}

// ---- records I/O and key statistics ----------------------------------------------------

std::vector<SimRecord> RecordStore::records() const {
  std::vector<SimRecord> out;
  for (const auto& set : sets_)
    for (const auto* r : set->in_creation_order())
      out.push_back(SimRecord{set->opt.name, r->id, r->key,
                              dump(to_json(*set, *r, nullptr, false)), r->created_at});
  return out;
}

std::string RecordStore::records_json() const {
  json::object o;
  for (const auto& set : sets_) {
    json::array arr;
    for (const auto* r : set->in_creation_order()) arr.push_back(to_json(*set, *r, nullptr, false));
    o[set->opt.name] = std::move(arr);
  }
  return dump(o);
}

void RecordStore::load_records_json(std::string_view text) {
  boost::system::error_code ec;
  auto doc = parse_exact(text, ec);
  if (ec || !doc.is_object() || is_raw_number(doc)) throw std::invalid_argument("records: expected a JSON object {\"<EntitySet>\":[...]}");
  for (auto& set : sets_) {
    set->by_id.clear();
    set->by_key.clear();
    set->by_unique.clear();
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
  // Parents after everything is in: the file's sets may come in any order.
  for (const auto& set : sets_)
    for (const auto& [id, r] : set->by_id)
      if (auto err = check_parent(*set, r.props))
        throw std::invalid_argument("records: " + set->opt.name + "(" + id + "): " + err->body);
}

void RecordStore::clear() {
  for (auto& set : sets_) {
    set->by_id.clear();
    set->by_key.clear();
    set->by_unique.clear();
    set->creates_per_key.clear();
  }
}

void RecordStore::fill_key_stats(SimStats& st) const {
  st.records = 0;
  st.creates_per_key_histogram.clear();
  st.keys_created_more_than_once.clear();
  for (const auto& set : sets_) {
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
}

}  // namespace ib::sim
