#pragma once

#include "core/clock.hpp"
#include "dedup/dedup_config.hpp"

#include <cstddef>
#include <iosfwd>
#include <string>

namespace ib::tools {

/// Exit statuses of the operator commands `store` and `review` (docs/cli.md).
inline constexpr int kToolOk = 0;
/// `store get`/`forget`: no such key; `review show`: no such entry; `review replay`:
/// nothing matched the selector.
inline constexpr int kToolNotFound = 1;
/// Bad usage or config problems (printed).
inline constexpr int kToolUsage = 2;
/// `store`: the store is held by a running daemon, missing or unreadable; `review`: Kafka
/// or the review topic cannot be read.
inline constexpr int kToolUnavailable = 3;
/// `review replay`: at least one produce to the input topic failed (the summary says which).
inline constexpr int kToolDeliveryFailed = 4;

/// What `invoice-bridge store` does.
struct StoreOptions {
  enum class Action { stats, get, forget, list };
  Action action = Action::stats;
  /// get / forget: the dedup key, exactly as stored.
  std::string key;
  /// list: first key (inclusive, byte order); empty = from the beginning.
  std::string start;
  /// list: at most this many rows.
  std::size_t limit = 50;
  /// list: also show entries past the TTL not yet compacted away.
  bool include_expired = false;
  /// One JSON object on stdout instead of text.
  bool json = false;
};

/// `invoice-bridge store ...` on the store `config` describes (never creates one). Opens
/// it, does one action, closes it. A store held by a running daemon is refused with one
/// line on `err` naming the path (exit kToolUnavailable).
/// Exit: kToolOk; kToolNotFound (get: no live entry; forget: nothing forgotten);
/// kToolUnavailable (held by a daemon, missing, unreadable).
int run_store_command(const dedup::DedupConfig& config, const StoreOptions& options,
                      core::Clock& clock, std::ostream& out, std::ostream& err);

/// The command line: loads `config_path` with environment overrides (checks only the
/// `dedup:` section; kToolUsage on problems), then run_store_command on stdout/stderr.
int store_command(const std::string& config_path, const StoreOptions& options);

}  // namespace ib::tools
