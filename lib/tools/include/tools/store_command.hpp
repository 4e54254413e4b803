#pragma once

#include "app/daemon_config.hpp"
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
  enum class Action { stats, get, forget, list, rebuild };
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

/// `invoice-bridge store rebuild`: a store rebuilt from the dedup changelog topic
/// (`kafka.topics.changelog`). A store directory that holds anything (a damaged or refused
/// store, or a healthy one) is moved aside to `<dedup.path>.before-rebuild-<unix seconds>`
/// first, nothing in it deleted; one held by a running daemon is refused. Then every
/// changelog partition is read from its start into a new store, with progress on `err`,
/// and each partition's checkpoint is written, so the daemon restores only what comes later.
/// Exit: kToolOk; kToolUnavailable (Kafka, the topic or the store unusable).
int run_store_rebuild(const app::DaemonConfig& config, core::Clock& clock, std::ostream& out, std::ostream& err);

/// The command line: loads `config_path` with environment overrides (checks only the
/// `dedup:` section; kToolUsage on problems), then run_store_command on stdout/stderr.
int store_command(const std::string& config_path, const StoreOptions& options);

}  // namespace ib::tools
