#pragma once

// Text helpers shared by the simulator's parsers and handlers (ASCII only), and reading
// a whole file.

#include "core/text.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ib::sim {

// Case-insensitive equality and substring search: core's.
using core::iequals;
using core::icontains;

/// Lower-case copy.
std::string to_lower(std::string_view s);

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`); bad escapes stay as is.
std::string percent_decode(std::string_view s, bool plus_is_space);

/// True for `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits, either case).
bool is_guid(std::string_view s);

/// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_text_file(const std::filesystem::path& file);

}  // namespace ib::sim
