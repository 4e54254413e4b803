#include "tool_support.hpp"

#include "core/utf8.hpp"

#include "config/config_source.hpp"
#include "dedup/rocksdb_dedup_store.hpp"

#include <ctime>
#include <ostream>

namespace ib::tools::tool {

std::string iso_utc(core::Clock::TimePoint t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int frac = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

std::string printable_or_hex(std::string_view bytes) {
  for (const char c : bytes) {
    if (c < 0x20 || c > 0x7E) return hex(bytes);
  }
  return std::string(bytes);
}

std::string one_line(std::string_view raw, std::size_t max) {
  const auto text = core::to_valid_utf8(raw);  // a terminal shows U+FFFD for bytes that are not UTF-8
  std::string out;
  for (const char c : text) {
    if (out.size() >= max) {
      // Do not leave half a UTF-8 sequence before the mark.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) out.pop_back();
      return out + "...";
    }
    const auto b = static_cast<unsigned char>(c);
    out += (b < 0x20 || b == 0x7F) ? (c == '\n' || c == '\t' ? ' ' : '?') : c;
  }
  return out;
}

std::optional<app::DaemonConfig> load_config(
    const std::string& path, const std::function<std::vector<std::string>(const app::DaemonConfig&)>& check,
    std::string_view prefix, std::ostream& err) {
  auto loaded = app::load_daemon_config(path, config::environment(), check);
  if (loaded.problems.empty()) return std::move(loaded.config);
  for (const auto& p : loaded.problems) err << prefix << ": " << p << '\n';
  return std::nullopt;
}

OpenedStore open_store(const dedup::DedupConfig& config, core::Clock& clock) {
  OpenedStore out;
  // A tool reads or edits a store; it never creates one where there is none.
  auto opened = dedup::RocksDbDedupStore::open(config, clock, dedup::CreatePolicy::never);
  if (opened) {
    out.store = std::move(*opened);
    return out;
  }
  switch (opened.error().code) {
    case dedup::StoreErrc::not_found:
      out.failure = OpenFailure::missing;
      out.message = "no dedup store at " + config.path.string() + " (dedup.path)";
      break;
    case dedup::StoreErrc::in_use:
      out.failure = OpenFailure::in_use;
      out.message = "the dedup store at " + config.path.string() +
                    " is held by a running daemon (or another tool); stop it first";
      break;
    default:
      out.failure = OpenFailure::other;
      out.message = "cannot open the dedup store at " + config.path.string() + ": " + opened.error().message;
  }
  return out;
}

}  // namespace ib::tools::tool
