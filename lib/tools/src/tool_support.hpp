#pragma once
// Helpers shared by the operator commands (store_command.cpp, review_command.cpp).
// Private to lib/app.

#include "app/daemon_config.hpp"
#include "core/clock.hpp"
#include "dedup/dedup_store.hpp"

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::tools::tool {

/// `2026-11-29T04:55:01.123Z`.
std::string iso_utc(core::Clock::TimePoint t);
/// Lower-case hex of raw bytes.
std::string hex(std::string_view bytes);
/// The bytes as they are when all are printable ASCII (the daemon's fingerprints are hex
/// text already), else their hex.
std::string printable_or_hex(std::string_view bytes);
/// Text safe for one terminal line: control bytes as `?`, U+FFFD for each ill-formed UTF-8
/// sequence, cut to `max` bytes with `...`.
std::string one_line(std::string_view text, std::size_t max);

/// Loads `path` with environment overrides, reading every key the daemon knows (so none
/// is "unknown") but reporting only parse errors, unknown keys and the problems `check`
/// returns for the sections the tool uses. Problems go to `err` as `<prefix>: <problem>`.
std::optional<app::DaemonConfig> load_config(
    const std::string& path, const std::function<std::vector<std::string>(const app::DaemonConfig&)>& check,
    std::string_view prefix, std::ostream& err);

/// Why open_store() gave no store.
enum class OpenFailure { missing, in_use, other };

/// Opens the dedup store at config.path for a tool, never creating one: a directory
/// without a database is `missing`. `message` is one line for the operator.
struct OpenedStore {
  std::unique_ptr<dedup::DedupStore> store;
  OpenFailure failure = OpenFailure::other;
  std::string message;
};
OpenedStore open_store(const dedup::DedupConfig& config, core::Clock& clock);

}  // namespace ib::tools::tool
