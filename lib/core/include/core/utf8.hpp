#pragma once

// UTF-8 validation and repair for text we write where a person or a tool reads it (JSON
// rejects files, review output, JSON log lines): JSON must be UTF-8, input bytes need not be.

#include <string>
#include <string_view>

namespace ib::core {

/// True when `bytes` is well-formed UTF-8 (Unicode 15, table 3-7): no overlong forms, no
/// encoded surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view bytes) noexcept;

/// `bytes` with every ill-formed sequence replaced by U+FFFD (EF BF BD), one U+FFFD per
/// maximal subpart as Unicode recommends (what Python's `decode("utf-8", "replace")` and
/// WHATWG decoders do): `"\xE2\x82"` (truncated) is one U+FFFD, `"\xC0\xAF"` (overlong)
/// and `"\xED\xA0\x80"` (a surrogate) are one per byte. Valid input comes back unchanged.
std::string to_valid_utf8(std::string_view bytes);

/// RFC 4648 base64 (standard alphabet, `=` padding, no line breaks).
std::string base64_encode(std::string_view bytes);
/// Decodes RFC 4648 base64 (padding required, no whitespace); false when `text` is not.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace ib::core
