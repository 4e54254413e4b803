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
};

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
};

/// Writes one `$batch` request of `requests` (at least one, at most config.max_requests)
/// per `config` (which must be valid). `batch_id` names the boundary (`batch_<batch_id>`);
/// empty = a random UUID. Errors: no requests, too many, a PATCH operation without a key,
/// a body that is not a JSON object, a bad service_url. Pure apart from the random id.
Result<EncodedBatch> encode_batch(const std::vector<EntityWrite>& requests, const BatchConfig& config,
                                  std::string_view batch_id = {});

/// The URL of one inner request per `config.url_form` (percent-encoded).
Result<std::string> request_url(const EntityWrite& request, const BatchConfig& config);

/// A random version-4 UUID in lower-case hex (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
std::string random_uuid();

}  // namespace ib::odata
