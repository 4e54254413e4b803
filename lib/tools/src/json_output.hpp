#pragma once
// JSON the operator commands write (rejects file, `review --json`, `store --json`): always
// valid JSON whatever bytes came in. Private to lib/tools.

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace ib::tools::json_output {

/// Sets `o[key]` to `bytes` as a JSON string. Bytes that are not UTF-8 are never copied
/// raw: `o[key]` gets the text with each ill-formed sequence replaced by U+FFFD and
/// `o[key + "_base64"]` the exact bytes in base64 (absent when `bytes` is UTF-8).
void put_text(boost::json::object& o, std::string_view key, std::string_view bytes);

/// `serialize(o)` with one more member `key` last: `bytes` embedded as they are when they
/// are one JSON value (Boost.JSON's parser accepts them, so UTF-8 too), so numbers keep
/// their exact text (`3908.35`, `12345678901234567890.12345678`: re-serializing would
/// rewrite them through a double); line breaks between tokens are dropped so the result
/// stays one line. Otherwise `key` is put_text(bytes), with `key_base64` when not UTF-8.
std::string serialize_with_json(boost::json::object o, std::string_view key, std::string_view bytes);

/// `json` (one valid JSON value) indented by two spaces a level for a person, `"key": value`,
/// the first line unindented, nested lines starting at `indent` levels. Tokens are copied
/// as they are: numbers keep their text (Boost 1.81 has no pretty printer, and its DOM
/// would print `3908.35` as `3.90835E3`).
std::string pretty(std::string_view json, int indent);

}  // namespace ib::tools::json_output
