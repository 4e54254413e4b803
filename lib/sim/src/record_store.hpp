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
  boost::json::object to_json(const EntitySet& set, const Record& r,
                              const std::vector<std::string>* select, bool annotations) const;
  std::optional<Response> validate(const EntitySet& set, const boost::json::object& body) const;
  std::optional<Response> parse_body(const EntitySet& set, std::string_view body,
                                     boost::json::object& out) const;
  Response duplicate();
  Response not_found(const EntitySet& set, std::string_view what) const;
  Response written(const EntitySet& set, const Record& r, bool representation,
                   int representation_status, bool location) const;
  Response insert(EntitySet& set, boost::json::object body, std::string id, bool representation,
                  bool count_stats);
  Response update(EntitySet& set, Record& r, const boost::json::object& body,
                  bool representation);
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
