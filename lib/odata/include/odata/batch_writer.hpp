#pragma once

#include "odata/batch_config.hpp"
#include "odata/odata_url.hpp"
#include "odata/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ib::odata {

/// One record to write (transport-free; `ib::invoice::MappedInvoice` has these fields).
struct EntityWrite {
  std::string entity_set;
  /// Alternate key; required for create_if_absent and upsert, ignored for create.
  KeyValues key;
  /// The record as a JSON object (embedded as is: it must be valid JSON).
  std::string body;
  /// Dependent records written with this one (F&O: the VendorInvoiceLines of a
  /// VendorInvoiceHeaders record). A write with lines goes out as its own change set
  /// (multipart) / atomicityGroup (JSON): the header first, then its lines in order, all or
  /// nothing; it still has exactly one answer (read_batch_response folds the change set).
  /// Lines of lines are not written (an error).
  std::vector<EntityWrite> lines = {};
};

/// Number of operations `write` puts in a batch: 1 + its lines.
inline std::size_t operation_count(const EntityWrite& write) { return 1 + write.lines.size(); }

/// A `$batch` request ready for the transport: POST `url` (or `target` on a connection to
/// the service's host) with `headers` and `body`.
struct EncodedBatch {
  std::string url;       ///< absolute URL of `$batch` (`<service_url>/$batch`)
  std::string target;    ///< its origin-form (`/api/data/v9.2/$batch`) for the request line
  Headers headers;       ///< Content-Type, OData-MaxVersion, OData-Version, Accept, Prefer
  std::string content_type;  ///< the Content-Type value (also in `headers`)
  std::string body;
  std::string boundary;  ///< `batch_<id>` (multipart only)
  BatchFormat format = BatchFormat::multipart;
  bool atomic = false;
  /// Content-ID (multipart) / id (JSON) of each request, in request order: "1", "2", ...
  std::vector<std::string> content_ids;
  /// Per request, the Content-IDs / ids of its lines ("<request id>-1", "<request id>-2", ...);
  /// empty when no request has lines (missing or empty entry = none).
  std::vector<std::vector<std::string>> line_ids;
};

/// Writes one `$batch` request of `requests` (at least one, with at most config.max_requests
/// operations, lines included) per `config` (which must be valid). A request with lines is
/// a change set of its own (multipart: a nested multipart/mixed part; JSON: atomicityGroup
/// `cs<id>`); with config.atomic everything, lines included, is one change set. `batch_id` names the boundary (`batch_<batch_id>`);
/// empty = a random UUID. Errors: no requests, too many, a PATCH operation without a key (lines too), lines with lines,
/// a body that is not a JSON object, a bad service_url. Pure apart from the random id.
Result<EncodedBatch> encode_batch(const std::vector<EntityWrite>& requests, const BatchConfig& config,
                                  std::string_view batch_id = {});

/// The URL of one inner request per `config.url_form` (percent-encoded).
Result<std::string> request_url(const EntityWrite& request, const BatchConfig& config);

/// A random version-4 UUID in lower-case hex (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
std::string random_uuid();

}  // namespace ib::odata
