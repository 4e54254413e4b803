#pragma once

// Text helpers shared by the simulator's parsers and handlers (ASCII only), and reading
// a whole file.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ib::sim {

/// Case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

/// Case-insensitive substring search.
bool icontains(std::string_view hay, std::string_view needle);

/// Lower-case copy.
std::string to_lower(std::string_view s);

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`); bad escapes stay as is.
std::string percent_decode(std::string_view s, bool plus_is_space);

/// True for `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits, either case).
bool is_guid(std::string_view s);

/// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_text_file(const std::filesystem::path& file);

}  // namespace ib::sim
