#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ib::config {

/// Every problem found while reading a configuration, in the order found. Startup prints
/// them all at once and fails if there is any (`invoice-bridge check-config`).
using Problems = std::vector<std::string>;

/// Environment variables, name -> value. `environment()` reads the process's.
using Environment = std::map<std::string, std::string>;
Environment environment();

/// One YAML configuration document with environment overrides, read key by key into the
/// plain config structs of the modules. Keys are dotted paths (`http.pool.max_connections`).
///
/// Every key can be overridden by an environment variable: the prefix, then the path in
/// upper case with `.` written as `__` (`IB_HTTP__POOL__MAX_CONNECTIONS=8`). The variable's
/// value is parsed as YAML, so `IB_KAFKA__PROPERTIES='{sasl.mechanism: PLAIN}'` sets a map.
/// An override wins over the file.
///
/// Readers never throw: a missing key leaves the target (its default) alone, a key of the
/// wrong type adds a problem naming the key, its source and what was expected. After all
/// reads, `unknown_keys()` names the keys in the file that nothing read (typos).
/// Not thread-safe; used at startup.
class ConfigSource {
public:
  /// Parses `yaml` (the file's text; `origin` names it in messages).
  ConfigSource(std::string_view yaml, std::string origin, Environment env = {},
               std::string env_prefix = "IB_");
  ~ConfigSource();
  ConfigSource(ConfigSource&&) noexcept;
  ConfigSource& operator=(ConfigSource&&) noexcept;

  /// Reads the file at `path`; a missing or unreadable file or bad YAML is a problem.
  static ConfigSource from_file(const std::filesystem::path& path, Environment env = {},
                                std::string env_prefix = "IB_");

  /// Problems found so far (parse errors, type errors of reads made).
  const Problems& problems() const { return problems_; }
  /// Adds a problem (for checks that span several keys, e.g. from a struct's validate()).
  void add_problem(std::string problem) { problems_.push_back(std::move(problem)); }

  bool has(std::string_view key) const;

  /// Where the value of `key` is set, for messages: `FILE:LINE` (the 1-based line of the key
  /// in the file), `environment variable NAME` when an override sets it (it wins), or empty
  /// when neither does (the default applies). With `entry`, the entry of that name in the
  /// map at `key` (`where("kafka.properties", "ssl.ca.location")`: names may hold dots).
  /// Does not count as a read.
  std::string where(std::string_view key, std::string_view entry = {}) const;
  /// `key (WHERE)`, or just `key` when nothing sets it: the start of a problem about a value.
  std::string describe(std::string_view key, std::string_view entry = {}) const;
  /// `problem` with ` (WHERE)` after its leading key, the name before the first `:` (or a
  /// dotted name before the first space): `metrics.port: must be ...` becomes
  /// `metrics.port (ib.yaml:12): must be ...`, when that key is set and the problem does
  /// not name a source yet; otherwise unchanged.
  std::string locate(std::string problem) const;

  void read(std::string_view key, std::string& out);
  void read(std::string_view key, bool& out);
  void read(std::string_view key, int& out);
  void read(std::string_view key, std::int64_t& out);
  void read(std::string_view key, std::uint64_t& out);
  void read(std::string_view key, double& out);
  /// Durations: `250ms`, `5s`, `2m`, `1h`, `7d`, or a bare number of milliseconds.
  void read(std::string_view key, std::chrono::milliseconds& out);
  /// A list of strings (YAML sequence, or one string).
  void read(std::string_view key, std::vector<std::string>& out);
  /// A flat map of strings (YAML mapping whose values are scalars), e.g. librdkafka properties.
  void read(std::string_view key, std::map<std::string, std::string>& out);
  /// Byte sizes: `512`, `64KiB`, `16MiB`, `2GiB` (also KB/MB/GB as powers of 1000).
  void read_bytes(std::string_view key, std::uint64_t& out);
  /// One of `allowed`; anything else is a problem listing them.
  void read_enum(std::string_view key, std::string& out, const std::vector<std::string>& allowed);

  /// A key that this version no longer reads: when the file or an override sets it, adds
  /// the problem `<key>: removed; use <replacement>` (naming the override variable when it
  /// came from the environment) instead of the generic unknown-key one. The key counts as
  /// read, so unknown_keys() does not name it a second time.
  void reject_removed(std::string_view key, std::string_view replacement);

  /// Keys present in the file (leaves, dotted) that no read asked for, then override
  /// variables (prefix + a name with `__`) that match no key read, as
  /// `environment variable NAME`. Maps read as a whole count as read with everything
  /// below them.
  std::vector<std::string> unknown_keys() const;

private:
  struct Impl;
  template <typename Int>
  void read_integer(std::string_view key, Int& out);

  std::unique_ptr<Impl> impl_;
  Problems problems_;
};

/// `250ms`, `5s`, `2m`, `1h`, `7d`, or a bare integer (milliseconds).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// `512`, `64KiB`, `16MiB`, `2GiB`, `10KB`, `10MB`, `1GB`.
std::optional<std::uint64_t> parse_bytes(std::string_view text);

}  // namespace ib::config
