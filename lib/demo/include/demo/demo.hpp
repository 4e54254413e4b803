#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace ib::demo {

/// How `demo` reports progress while it runs.
enum class Progress {
  automatic,  ///< `refresh` when stderr is a terminal, `lines` otherwise
  refresh,    ///< one line rewritten in place (`\r`) twice a second
  lines,      ///< a plain line every `lines_interval`
  none,
};

/// Command-line options of `invoice-bridge demo` (docs/cli.md).
struct DemoOptions {
  /// Distinct valid invoices to generate (each must be created in D365 exactly once).
  std::size_t invoices = 5000;
  /// Upstream duplicates, percent of `invoices`.
  double duplicate_percent = 10;
  /// Seed of the generated stream and of the simulator's faults.
  std::uint64_t seed = 1;
  /// Dedup store directory, kept after the run; empty = a temporary one, removed at the end.
  std::string state_dir;
  /// Metrics endpoint port on 127.0.0.1; 0 = any free port.
  std::uint16_t metrics_port = 0;
  /// Overall deadline: when not every message has its outcome by then, the demo stops the
  /// daemon, prints the summary (its completion line FAILED) and exits 1.
  std::chrono::seconds timeout{300};
  Progress progress = Progress::automatic;
  std::chrono::milliseconds lines_interval{5000};
  /// Log level (`trace|debug|info|warn|error|critical|off`), text format; empty = warn.
  std::string log_level;
  /// Inject the simulator's faults (503s, applied-then-failed, one throttling period).
  bool faults = true;
};

/// `invoice-bridge demo`: runs the real daemon (ib::app::Daemon with the real D365 client)
/// in this process against librdkafka's mock cluster, the D365 simulator on a loopback
/// port and a RocksDB store; produces a generated invoice stream with duplicates,
/// conflicts, poison pills and simulator faults; shows progress on `err`; stops once
/// every message has its outcome (or at the deadline); and prints to `out` a summary
/// table that checks the invariants against the simulator's records and the review topic.
/// Returns the exit status: 0 when every invariant holds, 1 when one does not (or the
/// deadline passed), 2 when the demo could not start (bad options, port in use...).
/// Blocking; runs on the calling thread (the daemon gets its own thread). One at a time
/// per process (it configures the process-wide logger).
int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ib::demo
