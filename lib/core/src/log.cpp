#include "core/log.hpp"

#include "core/utf8.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace ib::log {

namespace {

// Fields travel inside the spdlog message after this separator, as name\x1evalue pairs
// separated by \x1f, so that other code logging through spdlog directly still works.
constexpr char kFieldsStart = '\x1d';
constexpr char kPairSep = '\x1f';
constexpr char kNameSep = '\x1e';

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::critical: return spdlog::level::critical;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string timestamp(spdlog::log_clock::time_point tp) {
  const auto t = spdlog::log_clock::to_time_t(tp);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

template <typename OnField>
std::string_view split_fields(std::string_view payload, OnField on_field) {
  const auto start = payload.find(kFieldsStart);
  if (start == std::string_view::npos) return payload;
  auto rest = payload.substr(start + 1);
  while (!rest.empty()) {
    const auto end = rest.find(kPairSep);
    const auto pair = rest.substr(0, end);
    const auto sep = pair.find(kNameSep);
    if (sep != std::string_view::npos) on_field(pair.substr(0, sep), pair.substr(sep + 1));
    if (end == std::string_view::npos) break;
    rest = rest.substr(end + 1);
  }
  return payload.substr(0, start);
}

class LineFormatter final : public spdlog::formatter {
public:
  explicit LineFormatter(Format format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const auto level = spdlog::level::to_string_view(msg.level);
    std::string line;
    if (format_ == Format::json) {
      // A value that is not UTF-8 is written repaired, plus its exact bytes in base64 in
      // `<name>_base64`: the line stays JSON and nothing is lost.
      std::string fields;
      const auto member = [](std::string_view n, std::string_view v) {
        std::string m = ",\"" + json_escape(n) + "\":\"" + json_escape(v) + "\"";
        if (!core::is_valid_utf8(v)) m += ",\"" + json_escape(n) + "_base64\":\"" + core::base64_encode(v) + "\"";
        return m;
      };
      const auto text = split_fields(payload, [&](std::string_view n, std::string_view v) { fields += member(n, v); });
      line = "{\"ts\":\"" + timestamp(msg.time) + "\",\"level\":\"" +
             std::string(level.data(), level.size()) + "\"" + member("msg", text) + fields + "}\n";
    } else {
      std::string fields;
      const auto text = split_fields(payload, [&](std::string_view n, std::string_view v) {
        const bool quote = v.empty() || v.find_first_of(" \"=") != std::string_view::npos;
        fields += " " + std::string(n) + "=" +
                  (quote ? "\"" + json_escape(v) + "\"" : std::string(v));
      });
      line = timestamp(msg.time) + " " + std::string(level.data(), level.size()) + " " +
             std::string(text) + fields + "\n";
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

private:
  Format format_;
};

}  // namespace

void setup(Format format, Level level) {
  spdlog::drop("invoice-bridge");  // setup may be called again (tests, reconfiguration)
  auto logger = spdlog::stderr_logger_mt("invoice-bridge");
  logger->set_formatter(std::make_unique<LineFormatter>(format));
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

bool parse_level(std::string_view text, Level& out) {
  static constexpr std::pair<std::string_view, Level> kLevels[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"critical", Level::critical},
      {"off", Level::off}};
  for (const auto& [name, level] : kLevels) {
    if (name == text) {
      out = level;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "text") {
    out = Format::text;
  } else if (text == "json") {
    out = Format::json;
  } else {
    return false;
  }
  return true;
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) noexcept {
  try {
    auto logger = spdlog::default_logger_raw();
    const auto lvl = to_spdlog(level);
    if (!logger->should_log(lvl)) return;
    std::string payload(msg);
    if (fields.size() != 0 && logger->name() != "invoice-bridge") {
      // setup() was not called: spdlog's own formatter, so plain name=value text.
      for (const auto& f : fields) payload.append(" ").append(f.name).append("=").append(f.value);
    } else if (fields.size() != 0) {
      payload += kFieldsStart;
      bool first = true;
      for (const auto& f : fields) {
        if (!first) payload += kPairSep;
        first = false;
        payload.append(f.name).append(1, kNameSep).append(f.value);
      }
    }
    logger->log(lvl, "{}", payload);
  } catch (...) {
    // Logging must never take the daemon down.
  }
}

std::string json_escape(std::string_view s) {
  const auto text = core::to_valid_utf8(s);
  std::string out;
  out.reserve(text.size() + 8);
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else if (std::string_view(text).substr(i, 3) == kReplacement) {
          out += "\\ufffd";  // visible as an escape: the line's bytes were not UTF-8 here
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace ib::log
