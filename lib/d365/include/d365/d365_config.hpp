#pragma once

#include "config/config_source.hpp"
#include "config/host_checks.hpp"
#include "d365/batch_client.hpp"
#include "d365/bulk_client.hpp"
#include "http/auth.hpp"
#include "invoice/invoice_config.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::d365 {

/// none | static_token | client_credentials (the HTTP module's modes).
using AuthMode = http::AuthMode;

/// How the bridge authenticates to D365 (keys under `d365.auth.`).
struct D365AuthConfig {
  AuthMode mode = AuthMode::none;
  /// static_token: file / environment variable holding the token (exactly one).
  std::string token_file;
  std::string token_env;
  /// client_credentials: Entra ID tenant (id or domain); used to build token_url when empty.
  std::string tenant;
  std::string client_id;
  /// File / environment variable holding the client secret (exactly one). Never logged.
  std::string client_secret_file;
  std::string client_secret_env;
  /// `https://ORG.crm.dynamics.com/.default`.
  std::string scope;
  /// Token endpoint; empty = `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
  std::string token_url;

  /// token_url, or the Entra ID one built from tenant.
  std::string effective_token_url() const;
};

/// Which D365 service the bridge writes to (`d365.profile`): it sets the defaults of the
/// service root, the mapping and the duplicate texts (apply_profile); explicit keys win.
enum class Profile {
  dataverse,           ///< Dataverse Web API (`/api/data/v9.2`, VendorInvoices). The default.
  finance_operations,  ///< F&O OData (`/data`, VendorInvoiceHeaders + VendorInvoiceLines)
};
std::string_view to_string(Profile p);
std::optional<Profile> parse_profile(std::string_view name);

/// The D365 side of the bridge: where, how to authenticate, how to write and read batches,
/// how to decode and map invoices (keys under `d365.`).
struct D365Config {
  /// `d365.profile`; set it with apply_profile(), which also sets the profile's defaults.
  Profile profile = Profile::dataverse;
  /// Origin of the service: `https://org.crm.dynamics.com` (no path).
  std::string base_url = "http://127.0.0.1:8080";
  /// Service root path below base_url: `/api/data/v9.2` (Dataverse), `/data` (F&O).
  std::string service_root = "/api/data/v9.2";
  D365AuthConfig auth;
  /// PEM file of trusted CAs; empty = system trust store.
  std::string tls_ca_file;
  /// Turns certificate verification off (tests only; logs a warning).
  bool tls_insecure = false;
  /// Most connections to D365 open at once.
  std::size_t max_connections = 8;
  /// Deadline of one `$batch` call.
  std::chrono::milliseconds request_deadline{60'000};
  /// odata writer / classify options (service_url is derived from base_url + service_root;
  /// max_requests is set from `batch.max_items` by batch_client_config()).
  odata::BatchConfig odata;
  odata::ClassifyConfig classify;
  /// Set when `d365.odata.operation` is `create_multiple` or `upsert_multiple`: writes go
  /// as Dataverse bulk messages (BulkClient); `odata.operation` is then the fallback
  /// `$batch`'s (create / upsert).
  std::optional<BulkMessage> bulk;
  /// `d365.odata.bulk_fallback`: how a refused bulk message finds its culprits.
  BulkFallback bulk_fallback = BulkFallback::batch;
  /// `d365.odata.bulk_skip_above`: BulkClientConfig::skip_above (the refusal memory).
  double bulk_skip_above = 0.8;
  /// `d365.odata.entity_type`: the table's logical name (`@odata.type`), bulk only.
  std::string entity_type;
  /// Payload decoding, dedup key and entity mapping.
  invoice::DecodeConfig invoice;
  invoice::KeyConfig key;
  invoice::MappingConfig mapping;

  /// Sets `profile` and its defaults: service_root, the whole mapping, invoice.max_lines and
  /// classify.duplicate_messages. finance_operations: `/data`; VendorInvoiceHeaders keyed
  /// by [dataAreaId, HeaderReference] (company_property dataAreaId, header_reference_property
  /// HeaderReference, description_property InvoiceDescription, no amount or tax property),
  /// lines_format entities into VendorInvoiceLines; invoice.max_lines 999 (one change set
  /// of 1 + lines operations fits D365's 1000 per `$batch`); duplicate_messages
  /// ["The record already exists"]. dataverse: the plain defaults of each struct.
  void apply_profile(Profile profile);
  /// Reads every `d365.` key from `source` (problems land in the source). `d365.profile`
  /// is read first and, when set, applied (apply_profile), so every other key set in the
  /// source overrides the profile's defaults wherever it stands in the file.
  void load(config::ConfigSource& source);
  /// Every problem at once, each naming its key.
  std::vector<std::string> validate() const;
  /// What connecting needs from this host, checked without the network and without
  /// reading a secret: the files the auth mode and TLS use (`d365.auth.client_secret_file`
  /// or `d365.auth.token_file`, `d365.tls.ca_file`) can be opened for reading (a secret
  /// that group or others may read is a warning), and the variable `client_secret_env` /
  /// `token_env` names is set in `env` and not empty. Each message starts with
  /// `source.describe(key)`.
  config::HostFindings check_host(const config::ConfigSource& source, const config::Environment& env) const;
  /// `base_url + service_root`.
  std::string service_url() const;
  /// The BatchClient's config: service_url filled in, and `max_requests` (the caller's
  /// `batch.max_items`, at most odata::kMaxBatchRequests) as the most requests per
  /// `$batch`, so the client splits at the batcher's size and nowhere else.
  d365::BatchClientConfig batch_client_config(std::size_t max_requests) const;
  /// The BulkClient's config (bulk set): batch_client_config plus message, type, fallback.
  d365::BulkClientConfig bulk_client_config(std::size_t max_requests) const;
};

/// The sender `config` asks for: a BulkClient when `bulk` is set (`max_requests` records per
/// message), else a BatchClient (`max_requests` operations per `$batch`; with lines as
/// entity records at least D365's 1,000, so no invoice is too large for one `$batch`).
/// Throws std::invalid_argument listing every problem.
std::unique_ptr<Sender> make_sender(std::shared_ptr<http::Transport> transport, const D365Config& config,
                                    std::size_t max_requests);

}  // namespace ib::d365
