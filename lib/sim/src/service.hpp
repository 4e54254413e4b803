#pragma once

// The simulator's logic without I/O: routing, records, $batch, limits, faults, tokens.
// simulator.cpp feeds it parsed HTTP requests and writes what it answers. Every public
// member locks the one mutex, so the network thread and API callers can share it.

#include "sim/multipart.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::sim {

/// A request as the service sees it: views into the transport's buffers.
struct RequestView {
  std::string_view method;
  std::string_view target;  ///< path + query as sent (absolute URI allowed)
  HeaderList headers;
  std::string_view body;
  std::string_view scheme = "http";
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// What to do with a top-level request before it is processed.
struct Admission {
  enum class Kind { Process, Respond, Reset };
  Kind kind = Kind::Process;
  Response response;         ///< for Respond
  double latency_ms = 0;     ///< for Process: wait this long first
};

/// The result of processing.
struct Outcome {
  Response response;
  double delay_ms = 0;       ///< wait before writing (operation latency, slow response)
  bool drop = false;         ///< close the connection (RST) instead of answering
};

class Service {
public:
  explicit Service(SimOptions options);
  ~Service();

  /// Answers /_sim/... and the token endpoint; nullopt-like `handled=false` otherwise.
  bool handle_control(const RequestView& req, Response& out);
  /// Faults, auth and limits for a data request. A Process admission holds a concurrency
  /// slot until release().
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
  struct State;
  std::unique_ptr<State> s_;
};

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`); bad escapes stay as is.
std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace ib::sim
