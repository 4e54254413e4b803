#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::sim {

/// The type of one declared property; checked on every write (400 on a mismatch).
enum class PropertyType { String, Decimal, Integer, Boolean, Date, DateTimeOffset, Guid };

/// How every error body of a data request is shaped.
enum class ErrorStyle {
  /// Dataverse: `{"error":{"code":"0x...","message":"<text>"}}`.
  Dataverse,
  /// Finance and Operations: `{"error":{"code":"","message":"An error has occurred.",
  /// "innererror":{"message":"<text>","type":"Microsoft.Dynamics.Platform.Integration.
  /// Services.OData.AxODataWriteException","stacktrace":""}}}`.
  FinanceOperations
};

/// The presets a config starts from (`"profile"`, `d365-sim --profile`).
enum class Profile { Dataverse, FinanceOperations };

/// A parent reference: a record of this set needs a record of `entity_set` whose key
/// values are this record's `properties` (in the parent's key order).
struct ParentOptions {
  std::string entity_set;               ///< empty = no parent reference
  std::vector<std::string> properties;  ///< this set's properties, one per parent key property
};

/// One entity set: an optional primary id (GUID) and a key made of string or integer
/// properties.
struct EntitySetOptions {
  /// Entity set name as it appears in URLs (`/api/data/v9.2/VendorInvoices`).
  std::string name = "VendorInvoices";
  /// Name of the primary id property (a GUID) in records and bodies. Empty: no id; the key
  /// is the identity and URLs use the key form `Set(A='x',B=1)` (Finance and Operations).
  std::string id_property = "VendorInvoiceId";
  /// Key properties (Dataverse: the alternate key), in URL order; every create must give
  /// them all. A key property is a string unless `properties` declares it `integer`
  /// (whose URL literal is unquoted: `InvoiceLineNumber=1`).
  std::vector<std::string> key_properties = {"VendorAccount", "InvoiceNumber"};
  /// Declared properties and their types (the id and undeclared key properties are strings).
  std::vector<std::pair<std::string, PropertyType>> properties = {
      {"VendorAccount", PropertyType::String}, {"InvoiceNumber", PropertyType::String},
      {"Amount", PropertyType::Decimal},       {"Currency", PropertyType::String},
      {"InvoiceDate", PropertyType::Date},     {"DueDate", PropertyType::Date},
      {"Company", PropertyType::String},       {"Description", PropertyType::String},
      // What invoice-bridge's default mapping sends besides the above: tax as a decimal,
      // lines as a JSON string (docs/invoice-model.md).
      {"Tax", PropertyType::Decimal},          {"Lines", PropertyType::String}};
  /// false (Dataverse): an undeclared property is a 400 `0x80060888`; true: stored as given.
  bool allow_unknown_properties = false;
  /// Properties a create must give (not null); a write that omits one is a 400.
  std::vector<std::string> required_properties;
  /// A second uniqueness rule besides the key: no two records with equal values of all
  /// these properties (records missing one of them are not constrained). Empty = none.
  std::vector<std::string> unique_properties;
  /// The company (legal entity) property: a create without it gets
  /// SimOptions::default_company; reads see only the default company's records unless
  /// `?cross-company=true`. Empty = not company-scoped.
  std::string company_property;
  /// The record this set's records belong to (a line's header); checked on every write.
  ParentOptions parent;
  /// Names in Finance and Operations error texts: the data entity
  /// ("Write failed for table row of type '<entity_type>'") and the table
  /// ("Cannot create a record in <table_label>."). Empty = the set name.
  std::string entity_type;
  std::string table_label;
};

/// Service protection limits (Dataverse api-limits), per simulator (one "user").
struct LimitOptions {
  /// Off by default so tests and benchmarks measure only what they ask for.
  bool enabled = false;
  /// Sliding window length, seconds (Dataverse: 300).
  double window_seconds = 300;
  /// Requests allowed per window (Dataverse: 6000); 0 = unlimited.
  std::uint64_t max_requests = 6000;
  /// Simulated execution time allowed per window, milliseconds (Dataverse: 1,200,000); 0 =
  /// unlimited (and no x-ms-ratelimit-time-remaining-xrm-requests header).
  double max_execution_ms = 1'200'000;
  /// Requests processed at the same time (Dataverse: 52); 0 = unlimited.
  std::uint32_t max_concurrent = 52;
  /// Simulated execution time of one operation (a plain request or one batch part), ms.
  double operation_cost_ms = 10;
  /// Simulated execution time of one CreateMultiple/UpsertMultiple message, ms, plus
  /// bulk_record_cost_ms per record it processed (before a failure stopped it).
  double bulk_message_cost_ms = 10;
  double bulk_record_cost_ms = 2;
  /// true: a $batch counts once toward max_requests; false: once per operation inside.
  bool batch_counts_as_one = true;
  /// Retry-After of a first 429 for concurrency, seconds.
  std::uint32_t retry_after_seconds = 1;
  /// Extra seconds added to the throttle each time a throttled client sends again.
  std::uint32_t retry_after_extension_seconds = 1;
  /// `x-ms-dop-hint` on every answer of a data request (Dataverse: the recommended degree
  /// of parallelism for the environment, per user); 0 = not sent.
  std::uint32_t dop_hint = 0;
};

/// Injected faults. Probabilities are 0..1, drawn from one seeded generator (deterministic
/// for one request order). Inspection endpoints (`/_sim/...`) never see faults.
struct FaultOptions {
  /// Probability that a request is answered with an error status instead of processed.
  double request_error_probability = 0;
  /// Probability that one operation inside a $batch fails with an error status (not applied).
  double operation_error_probability = 0;
  /// Statuses picked (uniformly) for injected errors.
  std::vector<int> error_statuses = {500, 502, 503, 504};
  /// Latency before a request is processed: fixed + uniform [0, jitter], ms.
  double request_latency_ms = 0;
  double request_latency_jitter_ms = 0;
  /// Latency per operation of a $batch (added up, before the response is written), ms.
  double operation_latency_ms = 0;
  double operation_latency_jitter_ms = 0;
  /// Probability that the connection is reset (TCP RST) instead of processing the request.
  double reset_probability = 0;
  /// Probability that a write request is applied, then answered with 500 or a dropped
  /// connection (see applied_then_failed_drop).
  double applied_then_failed_probability = 0;
  /// true: applied-then-failed drops the connection; false: answers 500.
  bool applied_then_failed_drop = false;
  /// Probability that one batch operation is applied but its part says 500.
  double operation_applied_then_failed_probability = 0;
  /// Probability that the response is delayed by slow_response_ms after processing.
  double slow_response_probability = 0;
  double slow_response_ms = 0;
};

/// OAuth2 client credentials (Microsoft Entra ID shape) and bearer-token checks.
struct AuthOptions {
  /// false: no Authorization header needed; the token endpoint still works.
  bool enabled = false;
  /// Accepted client id and secret at `POST /<tenant>/oauth2/v2.0/token` (any tenant).
  std::string client_id = "sim-client";
  std::string client_secret = "sim-secret";
  /// Lifetime of issued tokens, seconds.
  std::uint32_t token_lifetime_seconds = 3600;
};

/// TLS for the listener: both files set = https, none = http.
struct TlsOptions {
  std::string cert_file;  ///< PEM certificate chain
  std::string key_file;   ///< PEM private key
};

/// Everything the simulator does, with Dataverse-like defaults.
struct SimOptions {
  /// The Finance and Operations preset (docs/simulator.md "Finance and Operations
  /// profile"): service root `/data`, VendorInvoiceHeaders and VendorInvoiceLines keyed by
  /// dataAreaId, default company `usmf`, F&O error bodies, duplicate status 400.
  static SimOptions finance_operations();
  /// The preset of `profile` (Dataverse = the defaults below).
  static SimOptions for_profile(Profile profile);

  /// The preset these options started from (informational; set by for_profile).
  Profile profile = Profile::Dataverse;
  /// Address and port to listen on; port 0 lets the OS pick (see Simulator::port()).
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;
  /// Service root path; entity sets and $batch live below it.
  std::string service_root = "/api/data/v9.2";
  /// Base URL used in OData-EntityId/Location; empty = `http(s)://<Host header>`.
  std::string public_base_url;
  std::vector<EntitySetOptions> entity_sets = {EntitySetOptions{}};
  /// Status of a create that collides with a key or a uniqueness rule: 412 (Dataverse) or
  /// 409; with ErrorStyle::FinanceOperations also 400 (its preset) or 500.
  int duplicate_status = 412;
  /// The shape of every error body of a data request.
  ErrorStyle error_style = ErrorStyle::Dataverse;
  /// The company of a create without its set's company_property, and the one company
  /// reads see without `?cross-company=true`. Needed when a set has a company_property.
  std::string default_company;
  /// Largest number of requests in one $batch (Dataverse: 1000); more is a 400.
  std::size_t max_batch_requests = 1000;
  /// false (Dataverse): a batch stopped by a failed request answers with that request's
  /// status; true: it answers 200.
  bool batch_error_status_200 = false;
  /// Largest request body accepted, bytes (413 above).
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  /// Seed of the fault generator and of generated ids.
  std::uint64_t seed = 1;
  /// Records loaded at start (the GET /_sim/records shape); empty = none.
  std::string records_file;
  LimitOptions limits;
  FaultOptions faults;
  AuthOptions auth;
  TlsOptions tls;
};

/// `dataverse` / `finance_operations`; nullopt for any other name.
std::optional<Profile> parse_profile(std::string_view name);
std::string_view to_string(Profile profile);

/// Every problem of `options` (cross-key rules: key, required, unique, company and parent
/// properties declared; duplicate_status allowed for the error style; ...); empty = valid.
/// The Simulator refuses options with problems.
std::vector<std::string> validate(const SimOptions& options);

/// Parses a JSON config (docs/simulator.md) onto `base`: keys present override, keys absent
/// keep base's values; a `"profile"` key replaces `base` by that preset before the other
/// keys apply. Throws std::invalid_argument naming every problem found (validate() included).
SimOptions parse_options(std::string_view json, SimOptions base = {});
/// Reads and parses a JSON config file; throws std::invalid_argument / std::runtime_error.
SimOptions load_options(const std::filesystem::path& file, SimOptions base = {});
/// Applies a JSON object of fault keys (the "faults" section) onto `base`; throws
/// std::invalid_argument on unknown keys or bad values.
FaultOptions parse_faults(std::string_view json, FaultOptions base);
/// Applies a JSON object of limit keys (the "limits" section) onto `base`; throws likewise.
LimitOptions parse_limits(std::string_view json, LimitOptions base);
/// JSON of the current faults / limits (the shapes the parse functions accept).
std::string to_json(const FaultOptions& faults);
std::string to_json(const LimitOptions& limits);

}  // namespace ib::sim
