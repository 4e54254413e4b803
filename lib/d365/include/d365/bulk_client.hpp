#pragma once

#include "d365/batch_client.hpp"
#include "d365/sender.hpp"
#include "http/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::d365 {

/// Which Dataverse bulk message carries the writes (`d365.odata.operation`).
enum class BulkMessage {
  /// `POST <set>/Microsoft.Dynamics.CRM.CreateMultiple`, answer 200 `{"Ids":[...]}`.
  create_multiple,
  /// `POST <set>/Microsoft.Dynamics.CRM.UpsertMultiple`, each target addressed by
  /// `"@odata.id":"<set>(<alternate key>)"`, answer 204.
  upsert_multiple,
};
std::string_view to_string(BulkMessage m);
std::optional<BulkMessage> parse_bulk_message(std::string_view name);

/// What to do with a slice whose bulk message was refused as a whole for a record-level
/// reason (a duplicate, a 4xx): on a standard table one bad record rolls back all of them.
enum class BulkFallback {
  /// Send the slice once more as a continue-on-error `$batch` (Microsoft's advice in
  /// bulk-operations.md, "On Error behavior with standard tables"): 2 requests per failed
  /// message, every record answered on its own.
  batch,
  /// Split the slice in halves and send each as a bulk message again, down to single
  /// records: about 2·log2(n) extra messages per culprit, each cheap on the server.
  bisect,
};
std::string_view to_string(BulkFallback f);
std::optional<BulkFallback> parse_bulk_fallback(std::string_view name);

/// How BulkClient writes its messages. `batch` is the BatchClient config of the fallback
/// (service_url, classification, deadline; its max_requests is also the most records per
/// message); its operation and continue-on-error are set by BulkClient.
struct BulkClientConfig {
  BatchClientConfig batch;
  BulkMessage message = BulkMessage::create_multiple;
  /// Logical name written as `"@odata.type":"Microsoft.Dynamics.CRM.<entity_type>"` in
  /// every target (`d365.odata.entity_type`; Dataverse requires it).
  std::string entity_type;
  BulkFallback fallback = BulkFallback::batch;
  /// Refusal memory (`d365.odata.bulk_skip_above`): when more than this share of the recent
  /// bulk messages of more than one record were refused for a record (an exponentially
  /// weighted average over whole slices, the newest weighing 1/4), a slice goes straight to the `$batch` path:
  /// at that rate a bulk message almost always costs a request and execution time for
  /// nothing before the `$batch` does the work. Every kBulkProbeEvery-th such slice is still
  /// sent as a bulk message, so the memory follows the stream. 1 = never skip.
  double skip_above = 0.8;

  /// Every problem, each naming its key; empty when valid.
  std::vector<std::string> validate() const;
};

struct BulkClientStats {
  std::uint64_t messages_sent = 0;       ///< CreateMultiple/UpsertMultiple HTTP requests
  std::uint64_t records_written = 0;     ///< targets inside them
  std::uint64_t messages_refused = 0;    ///< answered as a whole with a record-level error (single-record messages too)
  std::uint64_t fallback_batches = 0;    ///< slices sent again as a `$batch`
  std::uint64_t slices_skipped = 0;      ///< slices sent as a `$batch` without a bulk message first
  std::uint64_t transport_failures = 0;
};

/// While the refusal memory is above BulkClientConfig::skip_above, one slice in this many is
/// still sent as a bulk message.
inline constexpr std::uint64_t kBulkProbeEvery = 8;

/// A Sender that posts one bulk message per chunk of at most `batch.max_requests`
/// writes of one entity set (consecutive writes of another set start a new message) and
/// answers each write:
///  - 2xx: every write created (CreateMultiple: record_id = its entry of `Ids`);
///  - 429, 5xx, 408, timeout, reset: every write gets that answer (throttled with the
///    Retry-After, transient), as BatchClient answers a whole-batch failure;
///  - a record-level refusal (duplicate: 412 0x80040237 / configured codes / 409, or any
///    other 4xx): the slice goes through `fallback`; a single write keeps that answer;
///  - while most recent messages were refused (`skip_above`), slices skip the bulk message
///    and go straight to the `$batch` path, with a probe every kBulkProbeEvery slices;
///  - TLS certificate verification failure: fatal, latched (as BatchClient).
/// Thread: the transport's executor; many send() calls may run at once.
class BulkClient final : public Sender {
public:
  /// Throws std::invalid_argument listing every problem of `config`.
  BulkClient(std::shared_ptr<http::Transport> transport, BulkClientConfig config);

  boost::asio::awaitable<std::vector<Answer>> send(std::vector<odata::EntityWrite> writes) override;

  BulkClientStats stats() const { return stats_; }
  /// The refusal memory: the weighted share of recent bulk messages refused (0..1).
  double refused_share() const { return refused_share_; }
  /// The fallback `$batch` client's counters.
  BatchClientStats batch_stats() const { return fallback_->stats(); }
  const std::string& fatal() const { return fatal_; }

private:
  /// whole_slice: a slice as send() cut it, not a half of a bisected one; only whole slices
  /// feed the refusal memory (under bisect the clean halves of a refused slice would hide
  /// that nearly every slice is refused).
  boost::asio::awaitable<void> send_slice(std::vector<odata::EntityWrite> writes, std::vector<Answer>& out,
                                          bool whole_slice = true);
  /// Feeds the refusal memory with one bulk message's fate.
  void remember(bool refused);

  std::shared_ptr<http::Transport> transport_;
  BulkClientConfig config_;
  std::unique_ptr<BatchClient> fallback_;
  BulkClientStats stats_;
  std::string fatal_;
  double refused_share_ = 0;
  std::uint64_t skipping_slices_ = 0;  ///< slices met while skipping (for the probes)
};

/// The JSON body of one bulk message (pure; exposed for tests): `{"Targets":[...]}`, each
/// target the write's body plus `@odata.type`; UpsertMultiple adds `@odata.id` with the
/// write's key and leaves the key properties out of the body (Dataverse refuses them in
/// both places when the upsert creates). nullopt when a body is not a JSON object.
std::optional<std::string> bulk_body(const std::vector<odata::EntityWrite>& writes,
                                     BulkMessage message, std::string_view entity_type);

}  // namespace ib::d365
