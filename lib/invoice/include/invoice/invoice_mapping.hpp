#pragma once

#include "invoice/invoice.hpp"
#include "invoice/invoice_config.hpp"

#include <string>
#include <utility>
#include <vector>

namespace ib::invoice {

/// One invoice as the target entity wants it: transport-free, ready for the OData writer
/// (`odata::EntityWrite` takes these three fields as they are).
struct MappedInvoice {
  std::string entity_set;
  /// Alternate key (property, value) in `MappingConfig::key_properties` order; the raw
  /// values (the OData layer quotes and percent-encodes them).
  std::vector<std::pair<std::string, std::string>> key;
  /// The JSON object of the record (a create's body; also the PATCH body of an upsert).
  std::string body;
};

/// Maps an invoice per `config` (which must be valid: see MappingConfig::validate()).
/// Properties appear in a fixed order: vendor account, invoice number, company, invoice
/// date, due date, currency, amount, tax, description, lines, extra, fixed. Pure.
MappedInvoice map_invoice(const Invoice& invoice, const MappingConfig& config);

/// The lines as a JSON array (`[{"LineNumber":"1","Description":"...","Item":"...",
/// "Quantity":2,"UnitPrice":5,"Amount":10}]`; absent optional fields omitted).
std::string lines_json(const Invoice& invoice, bool decimals_as_strings);

}  // namespace ib::invoice
