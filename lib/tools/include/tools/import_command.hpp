#pragma once

#include "core/error.hpp"
#include "d365/bulk_client.hpp"
#include "d365/invoice_codec.hpp"
#include "d365/sender.hpp"
#include "pipeline/pipeline.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace ib::tools {

/// What one `import` run did. Every input line lands in exactly one of invalid, imported,
/// duplicates (in the file, or already in D365), conflicts, failed.
struct ImportSummary {
  std::uint64_t read = 0;        ///< non-blank input lines
  std::uint64_t invalid = 0;     ///< not decodable / failed validation
  std::uint64_t imported = 0;    ///< created (or found created by our own earlier, unanswered attempt)
  std::uint64_t duplicates = 0;  ///< same key + content earlier in the file, or D365 had the record
  std::uint64_t conflicts = 0;   ///< same key as an earlier line, different content: not sent
  std::uint64_t retried = 0;     ///< retries after transient failures (attempts beyond the first)
  std::uint64_t resent = 0;      ///< resends after throttling / not processed (not attempts)
  std::uint64_t throttled = 0;   ///< throttled answers
  std::uint64_t failed = 0;      ///< permanent errors and transient failures after the last retry
  std::uint64_t requests_sent = 0;  ///< batches sent (one `$batch` each; with bulk messages see `bulk`)
  /// With `d365.odata.operation: create_multiple | upsert_multiple`: what the bulk client did;
  /// absent otherwise. A refused message and its fallback are one batch in requests_sent but
  /// two HTTP requests.
  std::optional<d365::BulkClientStats> bulk;
  /// Lines not settled when the import stopped early (signal, --deadline): each has an
  /// `unsettled` reject record. 0 when the import ran to the end.
  std::uint64_t unsettled = 0;
  std::string stopped;  ///< why the import stopped early; empty when it ran to the end
  /// `{"read":..,"invalid":..,...}`.
  std::string to_json() const;
  /// One human line: `read 100 imported 90 duplicates 5 ...`.
  std::string to_line() const;
};

/// One rejected line (written as NDJSON: {line, reason, status, error, invoice}).
struct ImportReject {
  std::size_t line = 0;
  std::string reason;    ///< invalid | conflict | rejected | exhausted | unsettled
  int status = 0;        ///< HTTP status of the last answer (0: none)
  std::string error;     ///< decoder message, D365 error, transport error, conflict detail
  std::string invoice;   ///< the input line as read
  /// `{"line":..,"reason":..,"status":..,"error":..,"invoice":<the JSON, or a string>}`.
  std::string to_json() const;
};

/// import's bound on resends of one invoice per attempt after throttling (`--max-throttled`);
/// the daemon has none (PipelineConfig::max_throttled_resends = 0).
inline constexpr int kImportMaxThrottledResends = 5;

/// One line for the operator (a capped throttle wait).
using ImportNotice = std::function<void(const std::string&)>;

/// How `import` sends: the daemon's pipeline settings (the config's `batch.`, `send.` and
/// `retry.` keys), and what only import has (the command line).
struct ImportSettings {
  /// Batching, AIMD, the retry schedule (transient failures: `retry.max_attempts` sends
  /// per invoice, delays 1 s, 2 s, 4 s) and `retry.max_resends` (resends after no answer of
  /// its own, each after the retry schedule's delay). Its topics are import's own.
  pipeline::PipelineConfig pipeline = [] {
    pipeline::PipelineConfig c;
    c.max_throttled_resends = kImportMaxThrottledResends;
    return c;
  }();
  /// No throttle pause is longer than this (`--max-wait`); a longer Retry-After is said.
  std::chrono::milliseconds max_wait{std::chrono::seconds(60)};
  /// Stop after this long (`--deadline`; 0 = none): in-flight batches are settled, the
  /// rest written as `unsettled`.
  std::chrono::milliseconds deadline{0};
  /// Polled while sending: a non-empty reason (e.g. "SIGTERM received") stops the import
  /// as the deadline does.
  std::function<std::string()> stop_requested;
  ImportNotice notice;
  /// Progress callback period.
  std::chrono::milliseconds progress_interval{1000};
  std::uint64_t seed = 0;  ///< backoff jitter; 0 = random
};

using ImportRejectSink = std::function<void(const ImportReject&)>;
/// Called every progress_interval while sending and once at the end (`final`).
using ImportProgress = std::function<void(const ImportSummary&, std::size_t to_send, bool final)>;

/// The import flow: reads every NDJSON line of `input`, decodes it, drops in-file
/// duplicates (same key + fingerprint) and rejects conflicts (same key, other content),
/// then runs the rest through the daemon's pipeline (pipeline::Pipeline: batches, AIMD
/// pacing, bounded and paced resends, the outcome table) over `sender`, an in-memory dedup
/// store, and this process as the retry topic (retries are submitted again when due) and
/// the review topic (a review record is a reject). Every rejected line goes to `rejects`.
/// Stops early on `settings.stop_requested` or `settings.deadline`: in-flight batches are
/// answered and settled, every other line gets an `unsettled` reject.
/// Runs on the sender's executor; `input` is read synchronously first.
boost::asio::awaitable<ImportSummary> run_import(std::istream& input, const d365::InvoiceCodec& codec,
                                                 d365::Sender& sender, ImportSettings settings,
                                                 ImportRejectSink rejects, ImportProgress progress);

/// Command-line options of `invoice-bridge import`.
struct ImportOptions {
  std::string config_path;
  std::string input;         ///< NDJSON file, `-` = stdin
  std::string rejects_path;  ///< empty = `<input>.rejects.ndjson` (`import.rejects.ndjson` for stdin)
  std::string summary_json;  ///< empty = none
  /// Progress on stderr: a refreshed line on a terminal, plain lines every 10 s otherwise.
  bool progress = true;
  /// `--deadline`: stop after this long (0 = none), as on SIGTERM.
  std::chrono::milliseconds deadline{0};
  /// `--max-wait`: the longest throttle pause import accepts.
  std::chrono::milliseconds max_wait{std::chrono::seconds(60)};
  /// `--max-throttled`: resends of one invoice per attempt after throttling.
  int max_throttled_resends = kImportMaxThrottledResends;
};

/// `invoice-bridge import`: loads the config (the `d365:`, `batch:`, `send:`, `retry:`
/// keys; other sections are read but not checked), runs the import against D365, writes
/// rejects and the summary. Exit status: 0 when every line was imported or a duplicate,
/// 1 when any line was invalid, conflicting or failed, 2 for bad usage/config/input, 3 when
/// it stopped early (SIGINT, SIGTERM, --deadline) with lines unsettled (in the rejects).
int import_command(const ImportOptions& options);

}  // namespace ib::tools
