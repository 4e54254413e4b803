#pragma once

#include "invoice/invoice.hpp"
#include "invoice/invoice_config.hpp"
#include "invoice/result.hpp"

#include <string_view>

namespace ib::invoice {

/// Decodes one JSON payload (schema: docs/invoice-model.md). Checks, in order: size
/// (`payload: N bytes exceeds the limit of M`), UTF-8 (`payload: invalid UTF-8 at byte N`),
/// JSON syntax (`payload: not JSON: ...`), then every field, stopping at the first
/// problem, whose message names the field (`lines[2].amount: missing`,
/// `amount: expected a decimal number, got string "abc"`). Never throws on bad input.
/// Pure; any thread.
Result<Invoice> decode_json(std::string_view payload, const DecodeConfig& config);

/// Decodes one serialized `ib.proto.Invoice` (proto/invoice.proto) with the same field
/// rules and messages as decode_json (decimals and dates are strings there).
Result<Invoice> decode_protobuf(std::string_view payload, const DecodeConfig& config);

/// decode_json or decode_protobuf as `config.format` says.
Result<Invoice> decode(std::string_view payload, const DecodeConfig& config);

/// true when `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
/// `bad_at` receives the offset of the first bad byte.
bool is_valid_utf8(std::string_view text, std::size_t* bad_at = nullptr);

}  // namespace ib::invoice
