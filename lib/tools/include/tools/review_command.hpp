#pragma once

#include "app/daemon_config.hpp"
#include "tools/store_command.hpp"  // the kTool* exit statuses
#include "core/clock.hpp"
#include "d365/invoice_codec.hpp"
#include "kafka/message.hpp"

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace ib::tools {

/// What `invoice-bridge review` does. An entry is one message of the manual-review topic,
/// named by its id `PARTITION:OFFSET`.
struct ReviewOptions {
  enum class Action { list, show, replay };
  Action action = Action::list;
  /// list: only entries with one of these message keys; replay: select them.
  std::vector<std::string> keys;
  /// list / replay: only entries with this reason (invalid|conflict|rejected|exhausted).
  std::string reason;
  /// replay: select these entries (`P:O`).
  std::vector<std::string> ids;
  /// replay: select every entry.
  bool all = false;
  /// show: the entry (`P:O`).
  std::string id;
  /// replay: print what would be replayed, produce nothing, forget nothing.
  bool dry_run = false;
  /// JSON on stdout instead of text (list: one object a line; show: one object).
  bool json = false;
  /// Bound on reading the review topic.
  std::chrono::milliseconds read_timeout{30000};
};

/// `invoice-bridge review ...` against the Kafka cluster of `config` (`kafka.consumer`
/// bootstrap and properties for reading, `kafka.producer` for replays, `kafka.topics`).
///
/// Reads the review topic from its start up to the end offsets taken at start, by
/// assigning partitions by hand: it joins no consumer group and commits nothing.
///
/// replay: produces each selected entry's payload to the input topic with its key and its
/// original input partition (from the review headers), every `ib-` header removed (a fresh
/// attempt count) and `ib-replay-count` (previous + 1), `ib-replayed-from`
/// (`topic:partition:offset`), `ib-replayed-at`, `ib-replayed-reason` added; waits for
/// every delivery (idempotent producer, acks=all). Before producing, it forgets the
/// entries' dedup keys in the store when it can open it; while a daemon holds the store,
/// the daemon sends a message with `ib-replay-count` again whatever its store entry says.
/// `codec` finds an entry's dedup key from its payload (nullptr: the message key is used).
///
/// Exit: kToolOk; kToolNotFound (show: no such entry; replay: nothing selected);
/// kToolUsage; kToolUnavailable (Kafka or the topic unreadable); kToolDeliveryFailed.
int run_review_command(const app::DaemonConfig& config, const ReviewOptions& options,
                       const d365::InvoiceCodec* codec, core::Clock& clock, std::ostream& out,
                       std::ostream& err);

/// One review-topic message as `review list --json` (`full` false) or `review show --json`
/// (`full` true: headers and payload too) prints it: one line of valid JSON whatever the
/// bytes. A byte string that is not UTF-8 is written with U+FFFD for each ill-formed
/// sequence plus its exact bytes in base64 in `<field>_base64` (`headers_base64` holds
/// every header's [name, value] in base64 when one is not UTF-8); a JSON payload is embedded
/// as it is (numbers keep their text), any other payload is a string.
std::string review_entry_json(const kafka::Message& message, bool full);

/// The command line: loads `config_path` with environment overrides (checks the `kafka:`
/// and `dedup:` sections; kToolUsage on problems), builds the invoice codec from the `d365:`
/// section when it is valid, then run_review_command on stdout/stderr.
int review_command(const std::string& config_path, const ReviewOptions& options);

}  // namespace ib::tools
