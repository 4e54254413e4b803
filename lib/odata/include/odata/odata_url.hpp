#pragma once

#include "odata/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::odata {

/// Alternate key: (property name, raw value), in the order the key is defined.
using KeyValues = std::vector<std::pair<std::string, std::string>>;

/// OData string literal: `'` + value with every `'` doubled + `'` (not percent-encoded).
std::string string_literal(std::string_view value);

/// The percent-encoded key predicate for a URL path segment, without parentheses:
/// `VendorAccount='V1',InvoiceNumber='A%2FB%27%27C'`. Values are OData string literals,
/// then every byte outside RFC 3986 unreserved (ALPHA DIGIT - . _ ~) is percent-encoded
/// (UTF-8 bytes of non-ASCII letters included); the literal's delimiting quotes stay raw.
/// A single-property key is still written `Name='value'`.
std::string encoded_key_predicate(const KeyValues& key);

/// Parses a key predicate (the text between the parentheses, percent-encoded or not) back
/// into (name, value) pairs: percent-decodes, then reads `name='lit'` items separated by
/// commas, un-doubling quotes. Errors name what is wrong. For tests and diagnostics.
Result<KeyValues> parse_key_predicate(std::string_view encoded);

/// The entity set path, percent-encoded: `<entity_set>` or `<entity_set>(<predicate>)`
/// when `key` is not empty.
std::string entity_path(std::string_view entity_set, const KeyValues& key);

}  // namespace ib::odata
