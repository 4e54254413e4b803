#pragma once

// The simulator's service without I/O: routes each request to the part that answers it
// and owns the state they share. simulator.cpp (the Beast server) feeds it parsed
// requests and writes what it answers:
//   token endpoint   -> TokenIssuer             (token_issuer.hpp)
//   /_sim/...        -> inspection_response()   (inspection_api.hpp)
//   data requests    -> admit(): FaultInjector, TokenIssuer, ServiceLimits, then
//                       process(): BatchHandler for $batch, else RecordStore
// Every public member locks the one mutex, so the network thread and API callers can
// share it.

#include "batch_handler.hpp"
#include "fault_injector.hpp"
#include "message.hpp"
#include "record_store.hpp"
#include "seeded_random.hpp"
#include "service_limits.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"
#include "token_issuer.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ib::sim {

/// What to do with a top-level request before it is processed.
struct Admission {
  enum class Kind { Process, Respond, Reset };
  Kind kind = Kind::Process;
  Response response;         ///< for Respond
  double latency_ms = 0;     ///< for Process: wait this long first
};

class Router {
public:
  /// Loads `options.records_file` when set; throws std::exception when it cannot.
  explicit Router(SimOptions options);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  /// Answers /_sim/... and the token endpoint (true); false for data requests.
  bool handle_control(const RequestView& req, Response& out);
  /// Faults, auth and limits for a data request, in that order. A Process admission holds
  /// a concurrency slot until release().
  Admission admit(const RequestView& req);
  Outcome process(const RequestView& req);
  void release();
  /// Counts a response written for a data request (by status).
  void count_response(int status);

  const SimOptions& options() const;
  void set_port(std::uint16_t port);
  std::string base_url() const;
  SimStats stats() const;
  std::string stats_json() const;
  std::vector<SimRecord> records() const;
  std::string records_json() const;
  void load_records_json(const std::string& json);
  FaultOptions faults() const;
  void set_faults(const FaultOptions& f);
  LimitOptions limits() const;
  void set_limits(const LimitOptions& l);
  void reset();
  void expire_tokens();

private:
  // `scheme://host` of a request: public_base_url, else its Host header.
  std::string base_from_host(const RequestView& req) const;

  mutable std::mutex mu_;
  SimOptions opt_;
  std::uint16_t port_ = 0;
  SimStats st_;
  SeededRandom random_;
  RecordStore store_;
  TokenIssuer tokens_;
  FaultInjector faults_;
  ServiceLimits limits_;
  BatchHandler batch_;
};

}  // namespace ib::sim
