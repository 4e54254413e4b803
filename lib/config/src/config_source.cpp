#include "config/config_source.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

extern char** environ;

namespace ib::config {

Environment environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

namespace {

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot == std::string_view::npos ? key.size() - start
                                                                         : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string env_name(std::string_view prefix, std::string_view key) {
  std::string name(prefix);
  for (char c : key) {
    if (c == '.') {
      name += "__";
    } else {
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return name;
}

void collect_leaves(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const auto name = kv.first.as<std::string>();
      collect_leaves(kv.second, path.empty() ? name : path + "." + name, out);
    }
  } else if (!path.empty()) {
    out.push_back(path);
  }
}

template <typename Int>
bool parse_int(const std::string& s, Int& out) {
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

struct ConfigSource::Impl {
  YAML::Node root;
  std::string origin;
  Environment env;
  std::string env_prefix;
  std::set<std::string> read_keys;

  // The node for `key` and where it came from, or an undefined node.
  std::pair<YAML::Node, std::string> find(std::string_view key, Problems& problems) {
    read_keys.emplace(key);
    const auto name = env_name(env_prefix, key);
    if (const auto it = env.find(name); it != env.end()) {
      try {
        auto node = YAML::Load(it->second);
        if (!node.IsDefined() || node.IsNull()) node = YAML::Node(it->second);
        return {node, "environment variable " + name};
      } catch (const YAML::Exception& e) {
        problems.push_back(name + ": not valid YAML: " + e.msg);
        return {YAML::Node(YAML::NodeType::Undefined), name};
      }
    }
    return {in_file(key), origin};
  }

  // The 1-based line of `key` (the key itself, so `key:` with no value has one too) in the
  // file, then of `entry` in the map found there; 0 when the file does not set it. Walks
  // the tree through const access: no clone (a clone drops the marks), nothing created.
  int line_of(std::string_view key, std::string_view entry) const {
    auto parts = split_key(key);
    if (!entry.empty()) parts.emplace_back(entry);
    YAML::Node node = root;
    int line = 0;
    for (const auto& part : parts) {
      const YAML::Node& map = node;
      if (!map.IsMap()) return 0;
      bool found = false;
      for (const auto& kv : map) {
        if (kv.first.IsScalar() && kv.first.Scalar() == part) {
          line = kv.first.Mark().line + 1;
          node.reset(kv.second);
          found = true;
          break;
        }
      }
      if (!found) return 0;
    }
    return line;
  }

  // The node for `key` in the file (no overrides), or an undefined node.
  YAML::Node in_file(std::string_view key) const {
    YAML::Node node = YAML::Clone(root);
    for (const auto& part : split_key(key)) {
      if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
      YAML::Node child = node[part];
      if (!child.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
      node.reset(child);
    }
    return node;
  }
};

ConfigSource::ConfigSource(std::string_view yaml, std::string origin, Environment env,
                           std::string env_prefix)
    : impl_(std::make_unique<Impl>()) {
  impl_->origin = std::move(origin);
  impl_->env = std::move(env);
  impl_->env_prefix = std::move(env_prefix);
  try {
    impl_->root = YAML::Load(std::string(yaml));
    if (impl_->root.IsNull() || !impl_->root.IsDefined()) {
      impl_->root = YAML::Node(YAML::NodeType::Map);
    } else if (!impl_->root.IsMap()) {
      problems_.push_back(impl_->origin + ": the top level must be a mapping of sections");
      impl_->root = YAML::Node(YAML::NodeType::Map);
    }
  } catch (const YAML::Exception& e) {
    problems_.push_back(impl_->origin + ": not valid YAML: " + e.what());
    impl_->root = YAML::Node(YAML::NodeType::Map);
  }
}

ConfigSource::~ConfigSource() = default;
ConfigSource::ConfigSource(ConfigSource&&) noexcept = default;
ConfigSource& ConfigSource::operator=(ConfigSource&&) noexcept = default;

ConfigSource ConfigSource::from_file(const std::filesystem::path& path, Environment env,
                                     std::string env_prefix) {
  std::ifstream in(path);
  if (!in) {
    ConfigSource source("", path.string(), std::move(env), std::move(env_prefix));
    source.add_problem(path.string() + ": cannot read the configuration file");
    return source;
  }
  std::stringstream text;
  text << in.rdbuf();
  return ConfigSource(text.str(), path.string(), std::move(env), std::move(env_prefix));
}

bool ConfigSource::has(std::string_view key) const {
  Problems ignored;
  auto copy = impl_->read_keys;
  const bool found = impl_->find(key, ignored).first.IsDefined();
  impl_->read_keys = std::move(copy);
  return found;
}

std::string ConfigSource::where(std::string_view key, std::string_view entry) const {
  const auto name = env_name(impl_->env_prefix, key);
  if (impl_->env.count(name) != 0) return "environment variable " + name;
  const int line = impl_->line_of(key, entry);
  if (line <= 0) return {};
  return impl_->origin + ":" + std::to_string(line);
}

std::string ConfigSource::describe(std::string_view key, std::string_view entry) const {
  std::string text(key);
  if (!entry.empty()) text += "." + std::string(entry);
  const auto from = where(key, entry);
  return from.empty() ? text : text + " (" + from + ")";
}

std::string ConfigSource::locate(std::string problem) const {
  std::size_t end = 0;
  while (end < problem.size() && (std::islower(static_cast<unsigned char>(problem[end])) ||
                                  std::isdigit(static_cast<unsigned char>(problem[end])) ||
                                  problem[end] == '_' || problem[end] == '.')) {
    ++end;
  }
  // The key ends at `:`, or at a space when it is dotted (`kafka property ...` is prose);
  // a space before `(` is a source named already.
  const auto key = std::string_view(problem).substr(0, end);
  if (end == 0 || end >= problem.size() || problem.compare(end, 2, " (") == 0) return problem;
  if (problem[end] != ':' && (problem[end] != ' ' || key.find('.') == std::string_view::npos)) return problem;
  const auto from = where(key);
  if (from.empty()) return problem;
  problem.insert(end, " (" + from + ")");
  return problem;
}

namespace {

// Reads a scalar node as text, or records a problem.
std::optional<std::string> scalar(const YAML::Node& node, std::string_view key,
                                  const std::string& from, const char* expected,
                                  Problems& problems) {
  if (!node.IsScalar()) {
    problems.push_back(std::string(key) + " (" + from + "): expected " + expected);
    return std::nullopt;
  }
  return node.Scalar();
}

}  // namespace

void ConfigSource::read(std::string_view key, std::string& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  if (node.IsNull()) {
    out.clear();
    return;
  }
  if (auto s = scalar(node, key, from, "a string", problems_)) out = *s;
}

void ConfigSource::read(std::string_view key, bool& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  const auto s = scalar(node, key, from, "true or false", problems_);
  if (!s) return;
  if (*s == "true" || *s == "yes" || *s == "on") {
    out = true;
  } else if (*s == "false" || *s == "no" || *s == "off") {
    out = false;
  } else {
    problems_.push_back(std::string(key) + " (" + from + "): expected true or false, got '" + *s +
                        "'");
  }
}

template <typename Int>
void ConfigSource::read_integer(std::string_view key, Int& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  const auto s = scalar(node, key, from, "an integer", problems_);
  if (!s) return;
  Int value{};
  if (!parse_int(*s, value)) {
    problems_.push_back(std::string(key) + " (" + from + "): expected an integer, got '" + *s + "'");
    return;
  }
  out = value;
}

void ConfigSource::read(std::string_view key, int& out) { read_integer(key, out); }
void ConfigSource::read(std::string_view key, std::int64_t& out) { read_integer(key, out); }
void ConfigSource::read(std::string_view key, std::uint64_t& out) { read_integer(key, out); }

void ConfigSource::read(std::string_view key, double& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  const auto s = scalar(node, key, from, "a number", problems_);
  if (!s) return;
  try {
    std::size_t used = 0;
    const double v = std::stod(*s, &used);
    if (used != s->size()) throw std::invalid_argument("trailing characters");
    out = v;
  } catch (const std::exception&) {
    problems_.push_back(std::string(key) + " (" + from + "): expected a number, got '" + *s + "'");
  }
}

void ConfigSource::read(std::string_view key, std::chrono::milliseconds& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  const auto s = scalar(node, key, from, "a duration", problems_);
  if (!s) return;
  if (const auto d = parse_duration(*s)) {
    out = *d;
  } else {
    problems_.push_back(std::string(key) + " (" + from +
                        "): expected a duration such as 250ms, 5s, 2m, 1h, 7d; got '" + *s + "'");
  }
}

void ConfigSource::read_bytes(std::string_view key, std::uint64_t& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  const auto s = scalar(node, key, from, "a size", problems_);
  if (!s) return;
  if (const auto b = parse_bytes(*s)) {
    out = *b;
  } else {
    problems_.push_back(std::string(key) + " (" + from +
                        "): expected a size such as 4096, 64KiB, 16MiB, 1GiB; got '" + *s + "'");
  }
}

void ConfigSource::read(std::string_view key, std::vector<std::string>& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined()) return;
  if (node.IsScalar()) {
    out = {node.Scalar()};
    return;
  }
  if (!node.IsSequence()) {
    problems_.push_back(std::string(key) + " (" + from + "): expected a list of strings");
    return;
  }
  std::vector<std::string> values;
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      problems_.push_back(std::string(key) + " (" + from + "): every list item must be a string");
      return;
    }
    values.push_back(item.Scalar());
  }
  out = std::move(values);
}

void ConfigSource::read(std::string_view key, std::map<std::string, std::string>& out) {
  auto [node, from] = impl_->find(key, problems_);
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    problems_.push_back(std::string(key) + " (" + from + "): expected a mapping of names to values");
    return;
  }
  std::map<std::string, std::string> values;
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) {
      problems_.push_back(std::string(key) + "." + kv.first.as<std::string>() + " (" + from +
                          "): expected a single value");
      continue;
    }
    values[kv.first.as<std::string>()] = kv.second.Scalar();
  }
  out = std::move(values);
}

void ConfigSource::read_enum(std::string_view key, std::string& out,
                             const std::vector<std::string>& allowed) {
  std::string value = out;
  const auto before = problems_.size();
  read(key, value);
  if (problems_.size() != before) return;
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    problems_.push_back(std::string(key) + ": '" + value + "' is not one of: " + list);
    return;
  }
  out = value;
}

void ConfigSource::reject_removed(std::string_view key, std::string_view replacement) {
  impl_->read_keys.emplace(key);
  const std::string problem = std::string(key) + ": removed; use " + std::string(replacement);
  // Both places are named: fixing only one of them would otherwise fail the next start.
  if (impl_->in_file(key).IsDefined()) problems_.push_back(problem + " (" + impl_->origin + ")");
  const auto name = env_name(impl_->env_prefix, key);
  if (impl_->env.count(name) != 0) {
    problems_.push_back(problem + " (environment variable " + name + ", now " +
                        env_name(impl_->env_prefix, replacement) + ")");
  }
}

std::vector<std::string> ConfigSource::unknown_keys() const {
  std::vector<std::string> leaves;
  collect_leaves(impl_->root, "", leaves);
  std::vector<std::string> unknown;
  for (const auto& leaf : leaves) {
    bool known = false;
    for (const auto& read : impl_->read_keys) {
      if (leaf == read || (leaf.size() > read.size() && leaf.compare(0, read.size(), read) == 0 &&
                           leaf[read.size()] == '.')) {
        known = true;
        break;
      }
    }
    if (!known) unknown.push_back(leaf);
  }
  // Overrides that match no key (a misspelt IB_SECTION__KEY would otherwise be ignored
  // silently). Only names with the section separator: other IB_* variables are not ours.
  for (const auto& [name, value] : impl_->env) {
    if (name.rfind(impl_->env_prefix, 0) != 0 || name.find("__") == std::string::npos) continue;
    bool known = false;
    for (const auto& read : impl_->read_keys) {
      if (env_name(impl_->env_prefix, read) == name) {
        known = true;
        break;
      }
    }
    if (!known) unknown.push_back("environment variable " + name);
  }
  return unknown;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  std::int64_t n = 0;
  if (std::from_chars(text.data(), text.data() + digits, n).ec != std::errc()) return std::nullopt;
  const auto unit = text.substr(digits);
  using namespace std::chrono;
  if (unit.empty() || unit == "ms") return milliseconds(n);
  if (unit == "s") return duration_cast<milliseconds>(seconds(n));
  if (unit == "m") return duration_cast<milliseconds>(minutes(n));
  if (unit == "h") return duration_cast<milliseconds>(hours(n));
  if (unit == "d") return duration_cast<milliseconds>(hours(24 * n));
  return std::nullopt;
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t n = 0;
  if (std::from_chars(text.data(), text.data() + digits, n).ec != std::errc()) return std::nullopt;
  const auto unit = text.substr(digits);
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB") mult = 1ULL << 10;
  else if (unit == "MiB") mult = 1ULL << 20;
  else if (unit == "GiB") mult = 1ULL << 30;
  else if (unit == "KB") mult = 1000ULL;
  else if (unit == "MB") mult = 1000ULL * 1000;
  else if (unit == "GB") mult = 1000ULL * 1000 * 1000;
  else return std::nullopt;
  if (n > UINT64_MAX / mult) return std::nullopt;
  return n * mult;
}

}  // namespace ib::config
