#pragma once

#include "invoice/invoice.hpp"
#include "invoice/invoice_config.hpp"

#include <string>
#include <string_view>

namespace ib::invoice {

/// The dedup key: company, vendor account and invoice number, each trimmed of ASCII
/// whitespace and cased per `config.key_case`, with `\` and `|` escaped as `\\` and `\|`,
/// joined by `|` (`ACME|V-100|INV\|7`). Two invoices get the same key exactly when their
/// normalised parts are equal. Without `include_company` the key is `vendor|number`.
std::string dedup_key(const Invoice& invoice, const KeyConfig& config);

/// SHA-256 (lower-case hex, 64 chars) over the fields that decide the money: currency,
/// amount, tax, invoice and due dates, and the lines' amount, quantity, unit price and
/// item (lines as a multiset: their order does not matter). Descriptions, free fields
/// and the key fields are not in it. Stable across JSON field order and number spelling
/// (`100`, `100.0`, `1e2` give one fingerprint) because it hashes the canonical values.
std::string fingerprint(const Invoice& invoice);

/// The header reference of an invoice whose dedup key is `dedup_key` (the Finance and
/// Operations VendorInvoiceHeaders key beside dataAreaId): `IB` + the first 18 upper-case
/// hex digits (72 bits) of SHA-256(dedup_key), 20 characters. The same invoice always
/// gets the same reference, so a resent invoice collides with its own header.
std::string header_reference(std::string_view dedup_key);

}  // namespace ib::invoice
