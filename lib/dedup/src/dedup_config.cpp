#include "dedup/dedup_config.hpp"

#include "store_directory.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ib::dedup {

namespace {

// access(2) answers for the real uid, which is the effective one for the daemon (no setuid).
std::string writable_problem(const std::filesystem::path& dir) {
  if (::access(dir.c_str(), W_OK | X_OK) == 0) return {};
  return std::strerror(errno);
}

}  // namespace

void DedupConfig::load(config::ConfigSource& s) {
  std::string text = path.string();
  s.read("dedup.path", text);
  path = text;
  s.read("dedup.ttl", ttl);
  s.read_bytes("dedup.block_cache", block_cache_bytes);
  s.read_bytes("dedup.write_buffer", write_buffer_bytes);
  s.read("dedup.bloom_bits_per_key", bloom_bits_per_key);
  std::string policy(to_string(fsync));
  s.read_enum("dedup.fsync", policy, fsync_policy_names());
  if (auto p = parse_fsync_policy(policy)) fsync = *p;
  s.read("dedup.fsync_interval", fsync_interval);
  s.read("dedup.changelog", changelog);
}

config::HostFindings DedupConfig::check_host(const config::ConfigSource& source) const {
  if (path.empty()) return {};  // validate() says so
  return check_store_path(source.describe("dedup.path"), path);
}

config::HostFindings check_store_path(std::string_view what, const std::filesystem::path& configured) {
  config::HostFindings out;
  auto dir = configured;
  if (!dir.has_filename()) dir = dir.parent_path();  // `/data/dedup/`
  const std::string head = std::string(what) + ": " + configured.string();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      out.problems.push_back(head + ": is not a directory (the store is a directory)");
      return out;
    }
    if (auto why = writable_problem(dir); !why.empty()) {
      out.problems.push_back(head + ": the directory is not writable by this user: " + why);
    }
    // The rule the daemon's open applies (store_directory.hpp), so that check-config says
    // now what `run` would refuse.
    const auto found = detail::inspect_store_dir(dir);
    switch (found.kind) {
      case detail::DirKind::absent:
      case detail::DirKind::empty:
      case detail::DirKind::store:
      case detail::DirKind::unmarked_store: break;
      case detail::DirKind::damaged:
        out.problems.push_back(head + ": run refuses it as a damaged dedup store: " + found.why +
                               " (docs/runbook.md, \"Damaged or lost dedup store\")");
        break;
      case detail::DirKind::foreign:
        out.problems.push_back(head + ": run refuses it: the directory " + found.why);
        break;
      case detail::DirKind::unusable: out.problems.push_back(head + ": " + found.why); break;
    }
    return out;
  }
  if (const int err = errno; err != ENOENT && err != ENOTDIR) {  // ENOTDIR: the parent is a file
    out.problems.push_back(head + ": cannot be checked: " + std::strerror(err));
    return out;
  }
  const auto parent = dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
  if (::stat(parent.c_str(), &st) != 0) {
    const int err = errno;
    out.problems.push_back(head + ": the parent directory " + parent.string() +
                           (err == ENOENT ? " does not exist" : " cannot be checked: " +
                                                                    std::string(std::strerror(err))));
  } else if (!S_ISDIR(st.st_mode)) {
    out.problems.push_back(head + ": the parent " + parent.string() + " is not a directory");
  } else if (auto why = writable_problem(parent); !why.empty()) {
    out.problems.push_back(head + ": the parent directory " + parent.string() +
                           " is not writable by this user (the store is created there): " + why);
  }
  return out;
}

std::string_view to_string(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::never: return "never";
    case FsyncPolicy::periodic: return "periodic";
    case FsyncPolicy::always: return "always";
  }
  return "unknown";
}

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name) {
  for (auto p : {FsyncPolicy::never, FsyncPolicy::periodic, FsyncPolicy::always}) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

std::vector<std::string> fsync_policy_names() { return {"never", "periodic", "always"}; }

std::vector<std::string> DedupConfig::validate() const {
  using namespace std::chrono_literals;
  std::vector<std::string> problems;
  if (path.empty()) problems.push_back("dedup.path: must be set (a directory for the store)");
  if (ttl < 1s) problems.push_back("dedup.ttl: must be at least 1s");
  if (ttl > std::chrono::hours(24 * 3650)) problems.push_back("dedup.ttl: must be at most 3650d");
  if (block_cache_bytes < (1ull << 20)) problems.push_back("dedup.block_cache: must be at least 1MiB");
  if (write_buffer_bytes < (1ull << 20) || write_buffer_bytes > (1ull << 30)) {
    problems.push_back("dedup.write_buffer: must be between 1MiB and 1GiB");
  }
  if (bloom_bits_per_key < 1 || bloom_bits_per_key > 30) {
    problems.push_back("dedup.bloom_bits_per_key: must be between 1 and 30");
  }
  if (fsync == FsyncPolicy::periodic && fsync_interval <= 0ms) {
    problems.push_back("dedup.fsync_interval: must be positive with fsync: periodic");
  }
  if (max_background_jobs < 1 || max_background_jobs > 64) {
    problems.push_back("dedup: max_background_jobs must be between 1 and 64");
  }
  return problems;
}

}  // namespace ib::dedup
