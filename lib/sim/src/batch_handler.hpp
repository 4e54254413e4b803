#pragma once

// `POST $batch` (docs/simulator.md "$batch"): multipart/mixed batches with change sets and
// OData 4.01 JSON batches with atomicity groups and dependsOn. The whole body is parsed
// before anything runs; requests run in order through the RecordStore; a failed change set
// or group is rolled back; without `Prefer: odata.continue-on-error` the batch stops at the
// first failure and answers with its status. Not thread-safe: the Router calls it under
// its mutex.

#include "message.hpp"
#include "sim/multipart.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

namespace ib::sim {

class FaultInjector;
class RecordStore;
class SeededRandom;
class ServiceLimits;

class BatchHandler {
public:
  /// Every reference is the Router's and outlives the handler.
  BatchHandler(const SimOptions& options, RecordStore& store, FaultInjector& faults,
               ServiceLimits& limits, SeededRandom& random, SimStats& stats);

  /// Answers a `$batch` request (any method; only POST runs). `delay_ms` of the outcome
  /// is the summed injected operation latency.
  Outcome handle(const RequestView& req);

  /// Batch operation answers by status, for `/_sim/stats`.
  const std::map<int, std::uint64_t>& operations_by_status() const { return ops_by_status_; }
  void clear_counts() { ops_by_status_.clear(); }

private:
  Outcome run_multipart(const RequestView& req, bool continue_on_error);
  Outcome run_json(const RequestView& req, bool continue_on_error);
  // One operation with its per-operation faults; counted by status.
  Response run_operation(const InnerRequest& r, double& delay_ms);
  void count(int status) { ++ops_by_status_[status]; }
  // Runs members [0, count) of a change set or atomicity group in order through
  // `run_member`, stopping at the first failure (status >= 400), which rolls back all the
  // group did. Returns the answers of the members that ran and the failing index (`count`
  // when every member succeeded).
  std::pair<std::vector<Response>, std::size_t> run_atomic(
      std::size_t count, const std::function<Response(std::size_t)>& run_member);
  // Counts a batch that passed parsing and charges it to the limits.
  void admit_batch(std::size_t operations);
  // The top-level status: the first failure's without continue-on-error (unless
  // batch_error_status_200), else 200.
  int batch_status(int failed_status, bool continue_on_error) const;

  const SimOptions& opt_;
  RecordStore& store_;
  FaultInjector& faults_;
  ServiceLimits& limits_;
  SeededRandom& random_;
  SimStats& st_;
  std::map<int, std::uint64_t> ops_by_status_;
};

}  // namespace ib::sim
