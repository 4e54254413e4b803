#include "d365/d365_config.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <map>

namespace ib::d365 {

namespace {

template <typename Enum, typename Parse>
void read_named(config::ConfigSource& s, std::string_view key, Enum& out, std::vector<std::string> names,
                Parse parse) {
  std::string value(to_string(out));
  s.read_enum(key, value, names);
  if (auto v = parse(value)) out = *v;
}

void read_seconds(config::ConfigSource& s, std::string_view key, std::chrono::seconds& out) {
  std::chrono::milliseconds ms = out;
  s.read(key, ms);
  out = std::chrono::duration_cast<std::chrono::seconds>(ms);
}

void read_size(config::ConfigSource& s, std::string_view key, std::size_t& out) {
  std::uint64_t v = out;
  s.read(key, v);
  out = static_cast<std::size_t>(v);
}

void read_pairs(config::ConfigSource& s, std::string_view key,
                std::vector<std::pair<std::string, std::string>>& out) {
  if (!s.has(key)) return;
  std::map<std::string, std::string> m;
  s.read(key, m);
  out.assign(m.begin(), m.end());
}

// The default mapping of Finance and Operations vendor invoices (docs/invoice-model.md,
// "Finance and Operations"): VendorInvoiceHeaders + VendorInvoiceLines.
invoice::MappingConfig finance_operations_mapping() {
  invoice::MappingConfig m;
  m.entity_set = "VendorInvoiceHeaders";
  m.key_properties = {"dataAreaId", "HeaderReference"};
  m.vendor_account_property = "VendorAccount";
  m.invoice_number_property = "InvoiceNumber";
  m.company_property = "dataAreaId";
  m.header_reference_property = "HeaderReference";
  m.invoice_date_property = "InvoiceDate";
  m.due_date_property = "DueDate";
  m.currency_property = "Currency";
  m.amount_property.clear();  // the header has no total: F&O sums the lines
  m.tax_property.clear();
  m.description_property = "InvoiceDescription";
  m.lines_format = invoice::LinesFormat::entities;
  m.lines_entity_set = "VendorInvoiceLines";
  m.line_number_property = "InvoiceLineNumber";
  m.line_item_property = "ItemNumber";
  m.line_description_property = "LineDescription";
  m.line_quantity_property = "ReceiveNow";
  m.line_unit_price_property = "UnitPrice";
  m.line_amount_property = "Amount";
  return m;
}

// The name `d365.odata.operation` has: a bulk message's or the `$batch` operation's.
std::string operation_name(const D365Config& c) {
  return c.bulk ? std::string(to_string(*c.bulk)) : std::string(odata::to_string(c.odata.operation));
}

// What goes with lines as records of their own (lines_format entities), and the F&O profile.
void problems_of_profile_and_lines(const D365Config& c, std::vector<std::string>& problems) {
  const auto& m = c.mapping;
  if (c.profile == Profile::finance_operations) {
    const auto& keys = m.key_properties;
    if (m.header_reference_property.empty()) {
      problems.push_back(
          "d365.mapping.header_reference_property: required with d365.profile finance_operations "
          "(VendorInvoiceHeaders are keyed by dataAreaId + HeaderReference)");
    } else if (std::find(keys.begin(), keys.end(), m.header_reference_property) == keys.end()) {
      problems.push_back("d365.mapping.header_reference_property: '" + m.header_reference_property +
                         "' must be one of d365.mapping.key_properties with d365.profile finance_operations "
                         "(VendorInvoiceHeaders are keyed by dataAreaId + HeaderReference)");
    }
    if (c.bulk) {
      problems.push_back("d365.odata.operation: " + operation_name(c) +
                         " is a Dataverse message; Finance and Operations has no bulk messages "
                         "(d365.profile finance_operations)");
    }
  }
  if (m.lines_format != invoice::LinesFormat::entities) return;
  if (c.invoice.max_lines + 1 > odata::kMaxBatchRequests) {
    problems.push_back("d365.invoice.max_lines: at most " + std::to_string(odata::kMaxBatchRequests - 1) +
                       " with d365.mapping.lines_format entities (an invoice and its lines are one change set "
                       "of 1 + lines operations in one $batch, and D365 takes at most " +
                       std::to_string(odata::kMaxBatchRequests) + ")");
  }
  if (c.bulk) {
    problems.push_back("d365.mapping.lines_format: entities cannot go with d365.odata.operation " +
                       operation_name(c) +
                       " (a bulk message carries records of one entity set, not a header with its lines)");
  } else if (c.odata.operation != odata::Operation::create) {
    problems.push_back("d365.mapping.lines_format: entities needs d365.odata.operation create, not " +
                       operation_name(c) +
                       " (lines are created with their header; a PATCH would address each line by a key "
                       "with its integer line number, which the bridge does not write)");
  }
  if (c.odata.atomic) {
    problems.push_back(
        "d365.mapping.lines_format: entities cannot go with d365.odata.atomic: true (each invoice and its "
        "lines are a change set of their own; in one atomic change set a single refused invoice would roll "
        "back every invoice of the batch)");
  }
}

}  // namespace

std::string_view to_string(Profile p) {
  switch (p) {
    case Profile::dataverse: return "dataverse";
    case Profile::finance_operations: return "finance_operations";
  }
  return "?";
}

std::optional<Profile> parse_profile(std::string_view name) {
  if (name == "dataverse") return Profile::dataverse;
  if (name == "finance_operations") return Profile::finance_operations;
  return std::nullopt;
}

void D365Config::apply_profile(Profile p) {
  profile = p;
  switch (p) {
    case Profile::dataverse:
      service_root = "/api/data/v9.2";
      mapping = invoice::MappingConfig{};
      invoice.max_lines = invoice::DecodeConfig{}.max_lines;
      classify.duplicate_messages.clear();
      break;
    case Profile::finance_operations:
      service_root = "/data";
      mapping = finance_operations_mapping();
      // 1 header + 999 lines: the most operations D365 takes in one $batch.
      invoice.max_lines = odata::kMaxBatchRequests - 1;
      classify.duplicate_messages = {"The record already exists"};
      break;
  }
}

std::string D365AuthConfig::effective_token_url() const {
  if (!token_url.empty()) return token_url;
  if (tenant.empty()) return {};
  return "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token";
}

std::string D365Config::service_url() const {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string root = service_root;
  if (!root.empty() && root.front() != '/') root.insert(root.begin(), '/');
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return base + (root == "/" ? "" : root);
}

d365::BatchClientConfig D365Config::batch_client_config(std::size_t max_requests) const {
  d365::BatchClientConfig c;
  c.odata = odata;
  c.odata.service_url = service_url();
  c.odata.max_requests = max_requests;
  c.classify = classify;
  c.request_deadline = request_deadline;
  return c;
}

void D365Config::load(config::ConfigSource& s) {
  // The profile first: it sets defaults that every key below may override.
  if (s.has("d365.profile")) {
    std::string name(to_string(profile));
    s.read_enum("d365.profile", name, {"dataverse", "finance_operations"});
    if (auto p = parse_profile(name)) apply_profile(*p);
  }
  s.read("d365.base_url", base_url);
  s.read("d365.service_root", service_root);
  s.read("d365.request_deadline", request_deadline);
  read_size(s, "d365.max_connections", max_connections);
  s.read("d365.tls.ca_file", tls_ca_file);
  s.read("d365.tls.insecure", tls_insecure);

  std::string mode = auth.mode == AuthMode::none           ? "none"
                     : auth.mode == AuthMode::static_token ? "static_token"
                                                           : "client_credentials";
  s.read_enum("d365.auth.mode", mode, {"none", "static_token", "client_credentials"});
  auth.mode = mode == "static_token"         ? AuthMode::static_token
              : mode == "client_credentials" ? AuthMode::client_credentials
                                             : AuthMode::none;
  s.read("d365.auth.token_file", auth.token_file);
  s.read("d365.auth.token_env", auth.token_env);
  s.read("d365.auth.tenant", auth.tenant);
  s.read("d365.auth.client_id", auth.client_id);
  s.read("d365.auth.client_secret_file", auth.client_secret_file);
  s.read("d365.auth.client_secret_env", auth.client_secret_env);
  s.read("d365.auth.scope", auth.scope);
  s.read("d365.auth.token_url", auth.token_url);

  read_named(s, "d365.odata.format", odata.format, {"multipart", "json"}, odata::parse_batch_format);
  read_named(s, "d365.odata.url_form", odata.url_form, {"absolute_path", "relative", "absolute_uri"},
             odata::parse_url_form);
  // One key names the operation: a `$batch` one, or a Dataverse bulk message (BulkClient,
  // whose fallback `$batch` then creates / upserts one by one).
  {
    std::string value = bulk ? std::string(to_string(*bulk)) : std::string(odata::to_string(odata.operation));
    s.read_enum("d365.odata.operation", value,
                {"create", "create_if_absent", "upsert", "create_multiple", "upsert_multiple"});
    if (auto m = parse_bulk_message(value)) {
      bulk = *m;
      odata.operation = *m == BulkMessage::upsert_multiple ? odata::Operation::upsert : odata::Operation::create;
    } else if (auto o = odata::parse_operation(value)) {
      bulk.reset();
      odata.operation = *o;
    }
  }
  read_named(s, "d365.odata.bulk_fallback", bulk_fallback, {"batch", "bisect"}, parse_bulk_fallback);
  s.read("d365.odata.bulk_skip_above", bulk_skip_above);
  s.read("d365.odata.entity_type", entity_type);
  s.read("d365.odata.continue_on_error", odata.continue_on_error);
  s.read("d365.odata.atomic", odata.atomic);
  // One batch size for the batcher and the writer: the writer's limit is batch.max_items.
  s.reject_removed("d365.odata.max_requests", "batch.max_items");

  s.read("d365.classify.duplicate_codes", classify.duplicate_codes);
  s.read("d365.classify.duplicate_messages", classify.duplicate_messages);
  if (s.has("d365.classify.duplicate_statuses")) {
    std::vector<std::string> statuses;
    s.read("d365.classify.duplicate_statuses", statuses);
    classify.duplicate_statuses.clear();
    for (const auto& text : statuses) {
      try {
        classify.duplicate_statuses.push_back(std::stoi(text));
      } catch (const std::exception&) {
        s.add_problem("d365.classify.duplicate_statuses: '" + text + "' is not an HTTP status");
      }
    }
  }
  read_seconds(s, "d365.classify.default_retry_after", classify.default_retry_after);
  read_seconds(s, "d365.classify.max_retry_after", classify.max_retry_after);

  read_named(s, "d365.invoice.format", invoice.format, {"json", "protobuf", "detect"},
             invoice::parse_payload_format);
  std::uint64_t payload = invoice.max_payload_bytes;
  s.read_bytes("d365.invoice.max_payload_bytes", payload);
  invoice.max_payload_bytes = static_cast<std::size_t>(payload);
  read_size(s, "d365.invoice.max_lines", invoice.max_lines);
  read_size(s, "d365.invoice.max_string_bytes", invoice.max_string_bytes);
  read_size(s, "d365.invoice.max_extra_fields", invoice.max_extra_fields);
  read_size(s, "d365.invoice.max_json_depth", invoice.max_json_depth);
  s.read("d365.invoice.reject_unknown_fields", invoice.reject_unknown_fields);
  s.read("d365.invoice.default_company", invoice.default_company);

  read_named(s, "d365.key.case", key.key_case, {"preserve", "upper", "lower"}, invoice::parse_key_case);
  s.read("d365.key.include_company", key.include_company);

  auto& m = mapping;
  s.read("d365.mapping.entity_set", m.entity_set);
  s.read("d365.mapping.key_properties", m.key_properties);
  s.read("d365.mapping.vendor_account_property", m.vendor_account_property);
  s.read("d365.mapping.invoice_number_property", m.invoice_number_property);
  s.read("d365.mapping.company_property", m.company_property);
  s.read("d365.mapping.invoice_date_property", m.invoice_date_property);
  s.read("d365.mapping.due_date_property", m.due_date_property);
  s.read("d365.mapping.currency_property", m.currency_property);
  s.read("d365.mapping.amount_property", m.amount_property);
  s.read("d365.mapping.tax_property", m.tax_property);
  s.read("d365.mapping.description_property", m.description_property);
  s.read("d365.mapping.lines_property", m.lines_property);
  read_named(s, "d365.mapping.lines_format", m.lines_format, {"omit", "json_string", "nested_array", "entities"},
             invoice::parse_lines_format);
  s.read("d365.mapping.header_reference_property", m.header_reference_property);
  s.read("d365.mapping.lines_entity_set", m.lines_entity_set);
  s.read("d365.mapping.line_number_property", m.line_number_property);
  s.read("d365.mapping.line_item_property", m.line_item_property);
  s.read("d365.mapping.line_description_property", m.line_description_property);
  s.read("d365.mapping.line_quantity_property", m.line_quantity_property);
  s.read("d365.mapping.line_unit_price_property", m.line_unit_price_property);
  s.read("d365.mapping.line_amount_property", m.line_amount_property);
  read_pairs(s, "d365.mapping.extra_properties", m.extra_properties);
  read_pairs(s, "d365.mapping.fixed_properties", m.fixed_properties);
  s.read("d365.mapping.decimals_as_strings", m.decimals_as_strings);
}

config::HostFindings D365Config::check_host(const config::ConfigSource& s, const config::Environment& env) const {
  config::HostFindings out;
  auto secret_from = [&](const char* file_key, const std::string& file, const char* env_key,
                         const std::string& env_name) {
    if (!file.empty()) {
      config::check_readable_file(s.describe(file_key), file, config::FileRole::secret, out);
    } else if (!env_name.empty()) {
      const auto it = env.find(env_name);
      if (it == env.end() || it->second.find_first_not_of(" \t\r\n") == std::string::npos) {
        out.problems.push_back(s.describe(env_key) + ": environment variable " + env_name + " is not set or empty");
      }
    }
  };
  switch (auth.mode) {
    case AuthMode::none: break;
    case AuthMode::static_token:
      secret_from("d365.auth.token_file", auth.token_file, "d365.auth.token_env", auth.token_env);
      break;
    case AuthMode::client_credentials:
      secret_from("d365.auth.client_secret_file", auth.client_secret_file, "d365.auth.client_secret_env",
                  auth.client_secret_env);
      break;
  }
  if (!tls_ca_file.empty()) {
    config::check_readable_file(s.describe("d365.tls.ca_file"), tls_ca_file, config::FileRole::plain, out);
  }
  return out;
}

std::vector<std::string> D365Config::validate() const {
  std::vector<std::string> problems;
  // A module's problem names its own key (`mapping.entity_set: ...`): where that key is
  // ours under another name (`own` -> `d365.mapping.`), it is renamed, else prefixed.
  auto add = [&](const std::string& prefix, const std::vector<std::string>& more, std::string_view own = {},
                 std::string_view ours = {}) {
    for (const auto& p : more) {
      if (p.rfind(prefix, 0) == 0) {
        problems.push_back(p);
      } else if (!own.empty() && p.rfind(own, 0) == 0) {
        problems.push_back(std::string(ours) + p.substr(own.size()));
      } else {
        problems.push_back(prefix + p);
      }
    }
  };
  auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url) {
    problems.push_back("d365.base_url: not an absolute URL: '" + base_url + "'");
  } else {
    if (url->scheme() != "http" && url->scheme() != "https") {
      problems.push_back("d365.base_url: scheme must be http or https");
    }
    if (!url->encoded_path().empty() && url->encoded_path() != "/") {
      problems.push_back("d365.base_url: must have no path (put it in d365.service_root)");
    }
    if (url->has_query() || url->has_fragment() || url->has_userinfo()) {
      problems.push_back("d365.base_url: must have no query, fragment or user info");
    }
  }
  if (service_root.empty() || service_root.front() != '/') {
    problems.push_back("d365.service_root: must start with '/' (e.g. /api/data/v9.2)");
  }
  if (max_connections < 1) problems.push_back("d365.max_connections: must be at least 1");
  if (request_deadline.count() <= 0) problems.push_back("d365.request_deadline: must be positive");
  if (tls_insecure && !tls_ca_file.empty()) {
    problems.push_back("d365.tls: set ca_file or insecure, not both");
  }
  switch (auth.mode) {
    case AuthMode::none: break;
    case AuthMode::static_token:
      if (auth.token_file.empty() == auth.token_env.empty()) {
        problems.push_back("d365.auth: static_token needs exactly one of token_file and token_env");
      }
      break;
    case AuthMode::client_credentials:
      if (auth.effective_token_url().empty()) {
        problems.push_back("d365.auth: client_credentials needs tenant or token_url");
      }
      if (auth.client_id.empty()) problems.push_back("d365.auth.client_id: required for client_credentials");
      if (auth.scope.empty()) problems.push_back("d365.auth.scope: required for client_credentials");
      if (auth.client_secret_file.empty() == auth.client_secret_env.empty()) {
        problems.push_back(
            "d365.auth: client_credentials needs exactly one of client_secret_file and client_secret_env");
      }
      break;
  }
  auto odata_checked = odata;
  odata_checked.service_url = service_url();
  add("d365.odata: ", odata_checked.validate());
  add("d365.classify: ", classify.validate(), "odata.classify.", "d365.classify.");
  add("d365.invoice: ", invoice.validate());
  add("d365.key: ", key.validate());
  add("d365.mapping: ", mapping.validate(), "mapping.", "d365.mapping.");
  if (odata.operation != odata::Operation::create && mapping.key_properties.empty()) {
    problems.push_back("d365.mapping.key_properties: operation " + operation_name(*this) +
                       " addresses records by key");
  }
  if (bulk) {
    // The bulk client's own problems (entity_type); its `$batch` part, the same odata,
    // classify and deadline checked above, is not reported twice.
    const auto batch_problems = batch_client_config(odata::kMaxBatchRequests).validate();
    for (auto& p : bulk_client_config(odata::kMaxBatchRequests).validate()) {
      if (std::find(batch_problems.begin(), batch_problems.end(), p) == batch_problems.end())
        problems.push_back(std::move(p));
    }
  }
  problems_of_profile_and_lines(*this, problems);
  return problems;
}

BulkClientConfig D365Config::bulk_client_config(std::size_t max_requests) const {
  BulkClientConfig c;
  c.batch = batch_client_config(max_requests);
  c.message = bulk.value_or(BulkMessage::create_multiple);
  c.entity_type = entity_type;
  c.fallback = bulk_fallback;
  c.skip_above = bulk_skip_above;
  return c;
}

std::unique_ptr<Sender> make_sender(std::shared_ptr<http::Transport> transport, const D365Config& config,
                                    std::size_t max_requests) {
  if (config.bulk) return std::make_unique<BulkClient>(std::move(transport), config.bulk_client_config(max_requests));
  // An invoice with lines as records is 1 + its lines operations, never split: the `$batch`
  // holds up to D365's operation limit, so an invoice with more lines than the batcher's
  // item count still fits (the client splits a send that needs more than one `$batch`).
  if (config.mapping.lines_format == invoice::LinesFormat::entities)
    max_requests = std::max(max_requests, odata::kMaxBatchRequests);
  return std::make_unique<BatchClient>(std::move(transport), config.batch_client_config(max_requests));
}

}  // namespace ib::d365
