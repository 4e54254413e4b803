#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::invoice {

/// Wire format of an input payload.
enum class PayloadFormat {
  json,      ///< the JSON schema of docs/invoice-model.md
  protobuf,  ///< ib.proto.Invoice (proto/invoice.proto)
  detect,    ///< JSON when the first non-blank byte is `{`, else protobuf
};
std::string_view to_string(PayloadFormat f);
std::optional<PayloadFormat> parse_payload_format(std::string_view name);

/// How payloads are decoded and validated (config keys under `invoice.`).
struct DecodeConfig {
  /// Wire format of the input topic's values.
  PayloadFormat format = PayloadFormat::json;
  /// Largest payload accepted, bytes; larger ones are invalid (manual review), never parsed.
  std::size_t max_payload_bytes = 1 << 20;
  /// Most lines one invoice may have.
  std::size_t max_lines = 1000;
  /// Longest string field, bytes (UTF-8).
  std::size_t max_string_bytes = 1024;
  /// Most entries in `extra`.
  std::size_t max_extra_fields = 64;
  /// Deepest JSON nesting accepted (objects + arrays).
  std::size_t max_json_depth = 16;
  /// true: a top-level or line field the schema does not know is an error; false: ignored.
  bool reject_unknown_fields = false;
  /// Company used when the payload has none; empty = `company` is required.
  std::string default_company;

  /// Every problem, each naming its key (`invoice.max_lines: ...`); empty when valid.
  std::vector<std::string> validate() const;
};

/// Letter case applied to the dedup key's parts (ASCII letters only; other bytes as is).
enum class KeyCase {
  preserve,  ///< as sent (after trimming)
  upper,     ///< D365 alternate keys compare case-insensitively: `inv-1` and `INV-1` collide
  lower,
};
std::string_view to_string(KeyCase c);
std::optional<KeyCase> parse_key_case(std::string_view name);

/// How the dedup key is normalised (config keys under `dedup.key.`).
struct KeyConfig {
  /// Case rule for company, vendor account and invoice number in the key.
  KeyCase key_case = KeyCase::upper;
  /// true: the company is part of the key; false: vendor account + invoice number only
  /// (when the target's alternate key has no company either).
  bool include_company = true;

  std::vector<std::string> validate() const;
};

/// How invoice lines are sent to the target entity.
enum class LinesFormat {
  omit,          ///< not sent
  json_string,   ///< one string property holding the lines as a JSON array (the default)
  nested_array,  ///< a JSON array of objects (deep insert / a collection-valued property)
  entities,      ///< one record per line in `lines_entity_set` (F&O VendorInvoiceLines),
                 ///< written with its header as one change set
};
std::string_view to_string(LinesFormat f);
std::optional<LinesFormat> parse_lines_format(std::string_view name);

/// Canonical invoice -> target entity set (config keys under `mapping.`). A property name
/// left empty means the field is not sent.
struct MappingConfig {
  /// Entity set of the records (`/api/data/v9.2/<entity_set>`).
  std::string entity_set = "VendorInvoices";
  /// Alternate key properties, in URL order; each must be one of the mapped properties
  /// below (vendor account, invoice number, company, or a fixed property).
  std::vector<std::string> key_properties = {"VendorAccount", "InvoiceNumber"};
  std::string vendor_account_property = "VendorAccount";
  std::string invoice_number_property = "InvoiceNumber";
  std::string company_property = "Company";
  std::string invoice_date_property = "InvoiceDate";  ///< sent as `yyyy-mm-dd` (Edm.Date)
  std::string due_date_property = "DueDate";          ///< omitted when the invoice has none
  std::string currency_property = "Currency";
  /// Sent as a JSON number, exact; may be empty (not sent) only with LinesFormat::entities,
  /// where the lines carry the amounts (an F&O header has no total).
  std::string amount_property = "Amount";
  std::string tax_property = "Tax";                   ///< omitted when the invoice has none
  std::string description_property = "Description";   ///< omitted when empty
  /// Property holding the lines (json_string, nested_array).
  std::string lines_property = "Lines";
  /// How lines are sent (see LinesFormat).
  LinesFormat lines_format = LinesFormat::json_string;
  /// Property carrying the header reference derived from the dedup key
  /// (header_reference(): `IB` + 18 hex digits), in the header and in every line record;
  /// empty = not sent. F&O: `HeaderReference`, part of the header's key.
  std::string header_reference_property;
  /// entities: the entity set of the line records (F&O `VendorInvoiceLines`).
  std::string lines_entity_set;
  /// entities: property names of a line record. Each record also carries the company and
  /// header reference properties above, with the header's values. Empty = not sent,
  /// except the line number (the line's position, 1..n, a JSON integer) and the amount.
  std::string line_number_property = "InvoiceLineNumber";
  std::string line_item_property = "ItemNumber";
  std::string line_description_property = "LineDescription";
  std::string line_quantity_property = "ReceiveNow";
  std::string line_unit_price_property = "UnitPrice";
  std::string line_amount_property = "Amount";
  /// Free fields sent as properties: (key in `extra`, property name). Unlisted keys are not sent.
  std::vector<std::pair<std::string, std::string>> extra_properties;
  /// Properties added to every record: (property name, JSON value text, e.g. `"\"EUR\""`,
  /// `42`, `true`, `{"@odata.bind": ...}` is not supported: values must be JSON scalars).
  std::vector<std::pair<std::string, std::string>> fixed_properties;
  /// true: decimals sent as JSON strings (`"100.5"`), for services that take Edm.Decimal
  /// as strings (IEEE754Compatible=true); false: JSON numbers.
  bool decimals_as_strings = false;

  std::vector<std::string> validate() const;
};

}  // namespace ib::invoice
