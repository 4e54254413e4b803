#pragma once

#include "http/transport.hpp"
#include "odata/batch_config.hpp"
#include "odata/batch_result.hpp"
#include "odata/batch_writer.hpp"
#include "d365/sender.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ib::d365 {

/// How BatchClient writes and reads `$batch` calls (config keys under `d365.` and `d365.odata.`).
struct BatchClientConfig {
  /// How requests are written: service_url (`<base url><service root>`, e.g.
  /// `https://org.crm.dynamics.com/api/data/v9.2`), format, inner URL form, operation,
  /// continue-on-error preference (on), atomic (off), max requests per batch.
  odata::BatchConfig odata;
  /// Which answers count as duplicates; Retry-After defaults and caps.
  odata::ClassifyConfig classify;
  /// Deadline of one `$batch` HTTP call (pool wait + connect + write + server time + read).
  std::chrono::milliseconds request_deadline{60'000};

  /// Every problem, each naming its key; empty when valid.
  std::vector<std::string> validate() const;
};

/// Counters of one client (for `import`'s summary and tests).
struct BatchClientStats {
  std::uint64_t batches_sent = 0;     ///< `$batch` HTTP requests attempted
  std::uint64_t requests_written = 0; ///< operations inside them (lines included)
  std::uint64_t transport_failures = 0;
  std::uint64_t refused_after_fatal = 0;  ///< send() calls answered from the latched fatal failure
};

/// Sends one batch of entity writes as one `$batch` POST through `transport` (whose base
/// URL is the service's origin, `https://org.crm.dynamics.com`: the request target is the
/// batch's absolute path) and returns one Answer per write, in order. A write with lines
/// (F&O: a VendorInvoiceHeaders record and its VendorInvoiceLines) is one change set and
/// one Answer: created when all of it was, else the failure (`line 2: 400 ...` when a line
/// failed; odata::read_batch_response). Batches hold at most max_requests operations
/// (lines count); a write with more operations than that is answered permanent.
///
/// Never throws for remote failures: a transport failure (timeout, reset: the outcome of a
/// POST is unknown) answers every write transient; an outer 4xx/5xx with a multipart body
/// is parsed (Dataverse stops at the first failure and answers with its status); requests
/// without a response part are not_processed. A 401 that reaches this client already went
/// through the token refresh of AuthorizedTransport, so it is permanent. A TLS certificate
/// verification failure (http::TransportError::tls_verify_failed, of D365 or of the token
/// endpoint) answers every write not_processed with Answer::fatal = the failure's message,
/// and is latched: every later send() answers the same without touching the network.
///
/// Thread: the transport's executor; many send() calls may run at once.
class BatchClient final : public Sender {
public:
  /// Throws std::invalid_argument listing every problem of `config`.
  BatchClient(std::shared_ptr<http::Transport> transport, BatchClientConfig config);

  boost::asio::awaitable<std::vector<Answer>> send(std::vector<odata::EntityWrite> writes) override;

  const BatchClientConfig& config() const { return config_; }
  BatchClientStats stats() const { return stats_; }
  /// The latched fatal failure's message (empty while none happened).
  const std::string& fatal() const { return fatal_; }

private:
  std::shared_ptr<http::Transport> transport_;
  BatchClientConfig config_;
  BatchClientStats stats_;
  std::string fatal_;
};

/// The Answer of one read result (pure; exposed for tests).
Answer to_answer(const odata::RequestResult& result);

/// The pacing headers of one HTTP answer (pure; exposed for tests): `x-ms-dop-hint` (an
/// integer >= 1), `x-ms-ratelimit-burst-remaining-xrm-requests` (an unsigned integer),
/// `x-ms-ratelimit-time-remaining-xrm-requests` (seconds, a finite number >= 0, e.g.
/// `1199.99`). A header that is absent or does not parse as that is left absent.
batch::PacingSignal read_pacing(const http::Headers& headers);

/// The odata classification of a transport failure (pure; exposed for tests).
odata::TransportFailure to_transport_failure(http::TransportError error);

}  // namespace ib::d365
