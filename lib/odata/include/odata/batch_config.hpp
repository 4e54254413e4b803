#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::odata {

/// Body format of a `$batch` request.
enum class BatchFormat {
  multipart,  ///< multipart/mixed (OData 4.0; what Dataverse and F&O accept). The default.
  json,       ///< OData 4.01 JSON batch (`{"requests":[...]}`)
};
std::string_view to_string(BatchFormat f);
std::optional<BatchFormat> parse_batch_format(std::string_view name);

/// How the URL of each request inside the batch is written.
enum class UrlForm {
  absolute_path,  ///< `/api/data/v9.2/VendorInvoices` (Microsoft's examples). The default.
  relative,       ///< `VendorInvoices`, relative to the service root
  absolute_uri,   ///< `https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices`
};
std::string_view to_string(UrlForm f);
std::optional<UrlForm> parse_url_form(std::string_view name);

/// What each request does.
enum class Operation {
  create,            ///< `POST <entity set>`; a duplicate alternate key answers 412/409
  create_if_absent,  ///< `PATCH <entity set>(<key>)` + `If-None-Match: *`: creates, or 412 if it exists
  upsert,            ///< `PATCH <entity set>(<key>)`: creates or overwrites (never a duplicate answer)
};
std::string_view to_string(Operation o);
std::optional<Operation> parse_operation(std::string_view name);

/// Most requests D365 accepts in one `$batch` (Dataverse's documented limit; a larger
/// batch is refused as a whole). The upper bound of `batch.max_items`.
inline constexpr std::size_t kMaxBatchRequests = 1000;

/// How `$batch` requests are written (config keys under `odata.`, except max_requests).
struct BatchConfig {
  /// Service root URL, e.g. `https://org.crm.dynamics.com/api/data/v9.2` (Dataverse) or
  /// `https://env.operations.dynamics.com/data` (F&O). `$batch` is posted to `<service_url>/$batch`.
  std::string service_url;
  /// multipart/mixed (OData 4.0) or OData 4.01 JSON batch.
  BatchFormat format = BatchFormat::multipart;
  /// Form of the URL of each inner request.
  UrlForm url_form = UrlForm::absolute_path;
  /// What each request does.
  Operation operation = Operation::create;
  /// Sends `Prefer: odata.continue-on-error`, so one failed request does not stop the rest.
  bool continue_on_error = true;
  /// true: all requests in one change set (multipart) / one atomicityGroup (JSON): all or
  /// nothing. Off by default: one bad invoice must not fail the others.
  bool atomic = false;
  /// Largest number of requests in one batch, at most kMaxBatchRequests. Not a config key
  /// of its own: the composition sets it to `batch.max_items` (D365Config::batch_client_config).
  std::size_t max_requests = kMaxBatchRequests;

  /// Every problem, each naming its key (`odata.service_url: ...`); empty when valid.
  std::vector<std::string> validate() const;
};

/// What counts as a duplicate and how throttling answers are read (keys under `odata.classify.`).
struct ClassifyConfig {
  /// D365 error codes that mean "this record exists" with any 4xx status (compared
  /// case-insensitively). Dataverse answers a duplicate alternate key with 412 + 0x80040237.
  std::vector<std::string> duplicate_codes = {"0x80040237"};
  /// Statuses that mean "this record exists" whatever the code (409 Conflict: other OData
  /// services). 412 is not here by default: only with a duplicate code (or add it when
  /// every request is create_if_absent).
  std::vector<int> duplicate_statuses = {409};
  /// Texts that mean "this record exists" when `error.message` or `error.innererror.message`
  /// of a 4xx or 500 answer contains one (ASCII case-insensitive substrings). Finance and
  /// Operations sends no duplicate code, only the text ("... The record already exists."),
  /// and may answer a failed write with 500. Empty by default (Dataverse has its code).
  std::vector<std::string> duplicate_messages;
  /// Wait used when a 429 carries no usable Retry-After, seconds.
  std::chrono::seconds default_retry_after{5};
  /// Upper bound applied to any Retry-After, seconds.
  std::chrono::seconds max_retry_after{300};

  std::vector<std::string> validate() const;
};

}  // namespace ib::odata
