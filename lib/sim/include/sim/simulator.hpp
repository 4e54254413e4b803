#pragma once

#include "sim/options.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ib::sim {

/// Counters since start or the last reset(). `GET /_sim/stats` serves the same as JSON.
struct SimStats {
  std::uint64_t requests = 0;                    ///< top-level HTTP requests (not /_sim)
  std::map<int, std::uint64_t> requests_by_status;  ///< top-level response statuses
  std::uint64_t operations = 0;                  ///< plain requests + batch operations executed
  std::uint64_t creates = 0;                     ///< records created (committed)
  std::uint64_t updates = 0;
  std::uint64_t deletes = 0;
  std::uint64_t duplicate_rejections = 0;        ///< creates refused for an existing key/id
  std::uint64_t batches = 0;
  std::map<std::size_t, std::uint64_t> batch_sizes;  ///< operations per batch -> batches
  std::uint64_t rolled_back_change_sets = 0;
  std::uint64_t throttled = 0;                   ///< 429 answers
  /// The most data requests in progress at once, counting the one arriving (so a request
  /// refused for max_concurrent shows as max_concurrent + 1). Counted also with limits off.
  std::uint64_t max_concurrent_requests = 0;
  std::uint64_t injected_errors = 0;             ///< fault statuses (request and operation)
  std::uint64_t injected_resets = 0;
  std::uint64_t applied_then_failed = 0;
  std::uint64_t slow_responses = 0;
  std::uint64_t unauthorized = 0;                ///< 401 answers
  /// n -> how many alternate keys were created n times. A correct client leaves only n=1.
  std::map<std::uint32_t, std::uint64_t> creates_per_key_histogram;
  /// Alternate keys created more than once ("Set|v1|v2"), at most 100 listed.
  std::vector<std::string> keys_created_more_than_once;
  std::uint64_t records = 0;                     ///< records stored now
  std::uint64_t bulk_messages = 0;               ///< CreateMultiple/UpsertMultiple requests answered
  std::uint64_t bulk_rolled_back = 0;            ///< of those, refused whole (nothing written)
  /// Simulated server execution time of every data request, ms (the limits' cost model,
  /// counted whether or not limits are enabled).
  double execution_ms = 0;
};

/// One stored record.
struct SimRecord {
  std::string entity_set;
  std::string id;  ///< primary id (lower-case GUID); without an id property the key form `A='x',N=1`
  std::vector<std::string> key;                 ///< alternate key values, in key order
  std::string json;                             ///< the record as JSON, id property included
  std::chrono::system_clock::time_point created_at;  ///< when it was created (or loaded)
};

/// A Dataverse-like OData service on Boost.Beast, or F&O-like with
/// SimOptions::finance_operations() (see docs/simulator.md). All methods are
/// thread-safe; state lives behind one mutex, the network runs on one io_context thread.
class Simulator {
public:
  /// Runs on its own thread. Binds at once (throws std::exception on bind/TLS/config
  /// problems: options that validate() refuses, an unreadable records_file).
  explicit Simulator(SimOptions options);
  /// Runs on `executor` (a single-threaded io_context); the caller runs it.
  Simulator(boost::asio::any_io_executor executor, SimOptions options);
  /// Stops the listener, closes connections, joins the own thread.
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// Stops accepting and closes connections; idempotent.
  void stop();

  std::uint16_t port() const;
  /// `http://127.0.0.1:PORT` (https with TLS), without a trailing slash.
  std::string base_url() const;
  /// base_url() + service_root, e.g. `http://127.0.0.1:PORT/api/data/v9.2`.
  std::string service_url() const;

  SimStats stats() const;
  std::string stats_json() const;
  std::vector<SimRecord> records() const;
  /// Records as JSON `{"<EntitySet>":[{...},...]}` (the records_file shape).
  std::string records_json() const;
  /// Replaces all records by those in the JSON (records_json() shape); throws on bad input.
  void load_records_json(const std::string& json);
  void save_records(const std::filesystem::path& file) const;

  FaultOptions faults() const;
  void set_faults(const FaultOptions& faults);
  LimitOptions limits() const;
  void set_limits(const LimitOptions& limits);
  /// Drops all records, counters, tokens and throttle state (faults and limits stay).
  void reset();
  /// Makes every issued token expired (tests of the 401 path without waiting).
  void expire_tokens();

private:
  struct Impl;
  struct Runner;
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<Runner> runner_;  // own io_context + thread, when constructed without one
};

}  // namespace ib::sim
