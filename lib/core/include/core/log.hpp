#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace ib::log {

enum class Level { trace, debug, info, warn, error, critical, off };
enum class Format {
  text,  ///< `2026-11-29T10:00:00.123Z info  invoice imported dedup_key=ACME|V001|INV-7`
  json,  ///< one JSON object a line: {"ts":..,"level":..,"msg":..,"dedup_key":..}
};

/// One named value on a log line. Never put secrets here (or anywhere in a log line).
struct Field {
  std::string_view name;
  std::string_view value;
};

/// Configures the process-wide logger: format, minimum level, output (stderr). Call at
/// startup, before other threads log (calling it again replaces the logger). Until it is
/// called, spdlog's default logger prints plain lines.
void setup(Format format, Level level);

/// Parses `trace|debug|info|warn|error|critical|off`; false if unknown.
bool parse_level(std::string_view text, Level& out);
/// Parses `text|json`; false if unknown.
bool parse_format(std::string_view text, Format& out);

/// Writes one line with `msg` and `fields`. Thread-safe; never throws.
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {}) noexcept;

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) noexcept {
  write(Level::debug, msg, f);
}
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) noexcept {
  write(Level::info, msg, f);
}
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) noexcept {
  write(Level::warn, msg, f);
}
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) noexcept {
  write(Level::error, msg, f);
}

/// Escapes `s` for a JSON string (without the quotes); each ill-formed UTF-8 sequence
/// becomes `\ufffd` (see core::to_valid_utf8). JSON log lines add `<field>_base64` with the
/// exact bytes of a field (or `msg`) that was not UTF-8.
std::string json_escape(std::string_view s);

}  // namespace ib::log
