#pragma once

#include "invoice/invoice.hpp"
#include "invoice/invoice_config.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::invoice {

/// One line record of an invoice (LinesFormat::entities): written in the invoice's change
/// set after its header, so it needs no key of its own.
struct MappedLine {
  std::string entity_set;
  /// The JSON object of the line record.
  std::string body;
};

/// One invoice as the target entity wants it: transport-free, ready for the OData writer
/// (`odata::EntityWrite` takes these fields as they are).
struct MappedInvoice {
  std::string entity_set;
  /// Alternate key (property, value) in `MappingConfig::key_properties` order; the raw
  /// values (the OData layer quotes and percent-encodes them).
  std::vector<std::pair<std::string, std::string>> key;
  /// The JSON object of the record (a create's body; also the PATCH body of an upsert).
  std::string body;
  /// LinesFormat::entities: one record per invoice line, in line order; else empty.
  std::vector<MappedLine> lines;
};

/// Maps an invoice per `config` (which must be valid: see MappingConfig::validate()).
/// `dedup_key` is the invoice's dedup key (dedup_key()): the header reference property,
/// when mapped, holds header_reference(dedup_key). Header properties appear in a fixed
/// order: vendor account, invoice number, company, header reference, invoice date, due
/// date, currency, amount, tax, description, lines, extra, fixed. A line record
/// (entities): company, header reference, line number (its position 1..n, a JSON
/// integer), item, description, quantity, unit price, amount; optional fields the line
/// lacks are omitted. Decimals are exact (their canonical text). Pure.
MappedInvoice map_invoice(const Invoice& invoice, const MappingConfig& config, std::string_view dedup_key);

/// The lines as a JSON array (`[{"LineNumber":"1","Description":"...","Item":"...",
/// "Quantity":2,"UnitPrice":5,"Amount":10}]`; absent optional fields omitted).
std::string lines_json(const Invoice& invoice, bool decimals_as_strings);

}  // namespace ib::invoice
