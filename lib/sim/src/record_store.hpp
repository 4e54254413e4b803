#pragma once

// Entities and keys: the records of every entity set with their primary ids and alternate
// keys, schema validation, duplicate detection, the undo log of a change set, and one
// OData operation on them (POST create, PATCH upsert, GET by key or collection, DELETE).
// Not thread-safe: the Router calls it under its mutex.

#include "message.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::sim {

class SeededRandom;
struct QueryOptions;

class RecordStore {
public:
  /// `options` and `stats` are the Router's and outlive the store; records from
  /// `options.entity_sets` (the set list is fixed at construction).
  RecordStore(const SimOptions& options, SeededRandom& random, SimStats& stats);
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  /// `scheme://host` + service root: the prefix of `OData-EntityId`, `Location` and
  /// `@odata.context` in the answers that follow.
  void set_service_base(std::string base);

  /// Runs one OData operation and counts it in `operations`. `path` is relative to the
  /// service root (no leading '/') and not yet percent-decoded; `query` is raw. Every
  /// failure is an answer (400/404/405/412, or the duplicate status), never an exception.
  Response execute(std::string_view method, std::string_view path, std::string_view query,
                   const HeaderList& headers, std::string_view body);

  /// A bound CreateMultiple (`upsert` false) or UpsertMultiple on `entity_set`: body
  /// `{"Targets":[{"@odata.type":"Microsoft.Dynamics.CRM.<name>",...},...]}`, answer 200
  /// `{"Ids":[...]}` in Targets order. All or nothing (a standard table): the first record
  /// that fails undoes the others and its error is the answer. Two targets with the same
  /// alternate key are a 400 before anything runs. UpsertMultiple matches by alternate key
  /// (the key properties in each target): update when found, else create. `processed`
  /// counts the records run (up to and including a failed one), for the cost model.
  Response execute_bulk(std::string_view entity_set, bool upsert, std::string_view body,
                        std::size_t& processed);

  /// A change set (or JSON atomicity group): between begin_atomic() and end_atomic()
  /// every change is logged; end_atomic(false) undoes them in reverse order, counters
  /// included. Not nested.
  void begin_atomic();
  void end_atomic(bool commit);

  /// Records of every set in creation order.
  std::vector<SimRecord> records() const;
  /// `{"<EntitySet>":[{...},...]}` in creation order (the records_file shape).
  std::string records_json() const;
  /// Replaces all records by those of `text` (records_json() shape), keys and schema
  /// enforced; throws std::invalid_argument naming the problem.
  void load_records_json(std::string_view text);
  /// Drops every record and the creates-per-key counts.
  void clear();
  /// Sets `records`, `creates_per_key_histogram` and `keys_created_more_than_once`.
  void fill_key_stats(SimStats& stats) const;

private:
  struct Record;
  struct EntitySet;
  struct Undo;

  EntitySet* find_set(std::string_view name);
  std::string entity_url(const EntitySet& set, const std::string& id) const;
  // `A='x',B=1`: key values as OData literals in key order (the identity of a set
  // without an id property, and how messages name a record).
  std::string key_literal(const EntitySet& set, const std::vector<std::string>& key) const;
  // The index text of key property `i`'s value `v` (a string, or an integer's digits);
  // false when `v` has the wrong type.
  bool key_value(const EntitySet& set, std::size_t i, const boost::json::value& v,
                 std::string& out) const;
  // The key values of `props`, or the 400 naming a missing or mistyped key property.
  std::optional<Response> key_of(const EntitySet& set, const boost::json::object& props,
                                 std::vector<std::string>& key) const;
  // The unique_properties values of `props` joined, nullopt when the set has no such
  // rule or one of them is absent or null.
  std::optional<std::string> unique_of(const EntitySet& set, const boost::json::object& props) const;
  // Whether a query sees `r`: the default company's records, or all with cross-company.
  bool visible(const EntitySet& set, const Record& r, bool cross_company) const;
  std::optional<Response> check_required(const EntitySet& set, const boost::json::object& props) const;
  // The 400 when `props` name a parent record that does not exist.
  std::optional<Response> check_parent(const EntitySet& set, const boost::json::object& props) const;
  boost::json::object to_json(const EntitySet& set, const Record& r,
                              const std::vector<std::string>* select, bool annotations) const;
  std::optional<Response> validate(const EntitySet& set, const boost::json::object& body) const;
  std::optional<Response> parse_body(const EntitySet& set, std::string_view body,
                                     boost::json::object& out) const;
  // The duplicate answer (duplicate_status), counted; `create` false for an update.
  Response duplicate(const EntitySet& set, bool create);
  Response missing_field(const EntitySet& set, const std::string& property, bool key) const;
  // Finance and Operations error texts: "Write failed for table row of type '<entity>'.
  // Infolog: Error: <infolog>", and the table's name in them.
  std::string write_failed(const EntitySet& set, std::string_view infolog) const;
  std::string table_label(const EntitySet& set) const;
  Response not_found(const EntitySet& set, std::string_view what) const;
  Response written(const EntitySet& set, const Record& r, bool representation,
                   int representation_status, bool location) const;
  Response insert(EntitySet& set, boost::json::object body, std::string id, bool representation,
                  bool from_client);
  Response update(EntitySet& set, Record& r, const boost::json::object& body,
                  bool representation);
  // Indexes and stores `r` (by id, key and unique values); erase() undoes that.
  const Record& add(EntitySet& set, Record r);
  void erase(EntitySet& set, const std::string& id);
  Response collection(const EntitySet& set, const QueryOptions& q) const;

  const SimOptions& opt_;
  SeededRandom& random_;
  SimStats& st_;
  std::vector<std::unique_ptr<EntitySet>> sets_;
  std::uint64_t seq_ = 0;
  std::string base_;
  bool atomic_ = false;
  std::vector<Undo> undo_;
};

}  // namespace ib::sim
