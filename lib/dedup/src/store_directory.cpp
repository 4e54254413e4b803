#include "store_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

namespace ib::dedup::detail {
namespace {

namespace fs = std::filesystem;

// What RocksDB writes before CURRENT when it creates a database (a first start that stopped
// half way leaves only these), and a file system's own lost+found on a fresh volume.
bool leftover_of_creation(const std::string& name) {
  return name == "LOCK" || name == "LOG" || name == "IDENTITY" || name == "lost+found" ||
         name.rfind("LOG.old.", 0) == 0;
}

// Names RocksDB gives the files of a database: with one of these and no CURRENT the
// directory is a damaged store, not a foreign one.
bool rocksdb_file(const std::string& name) {
  const auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name.rfind("MANIFEST-", 0) == 0 || name.rfind("OPTIONS-", 0) == 0 || ends(".sst") || ends(".log") ||
         ends(".blob") || name == std::string(kMarkerFile);
}

bool read_file(const fs::path& p, std::string& out, std::size_t max) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  out.assign(max, '\0');
  in.read(out.data(), static_cast<std::streamsize>(max));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return !in.bad();
}

std::string first_names(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += ", ... (" + std::to_string(names.size()) + " entries)";
  return out;
}

}  // namespace

DirInspection inspect_store_dir(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) return {DirKind::absent, {}};
    return {DirKind::unusable, std::string("cannot be checked: ") + std::strerror(err)};
  }
  if (!S_ISDIR(st.st_mode)) return {DirKind::unusable, "is not a directory (the store is a directory)"};

  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return {DirKind::unusable, "cannot list the directory: " + ec.message()};
  const auto has = [&](std::string_view n) { return std::find(names.begin(), names.end(), n) != names.end(); };

  if (!has("CURRENT")) {
    if (std::all_of(names.begin(), names.end(), leftover_of_creation)) return {DirKind::empty, {}};
    if (std::any_of(names.begin(), names.end(), rocksdb_file)) {
      return {DirKind::damaged, "has no CURRENT file (it names the store's MANIFEST); the store's other files are there"};
    }
    std::vector<std::string> others;
    for (const auto& n : names) {
      if (!leftover_of_creation(n)) others.push_back(n);
    }
    return {DirKind::foreign, "is not empty and holds no dedup store (" + first_names(others) + ")"};
  }

  std::string current;
  if (!read_file(dir / "CURRENT", current, 256)) {
    return {DirKind::damaged, "its CURRENT file cannot be read: " + std::string(std::strerror(errno))};
  }
  // RocksDB writes "MANIFEST-<number>\n".
  if (current.empty() || current.back() != '\n' || current.rfind("MANIFEST-", 0) != 0 ||
      current.size() <= std::string_view("MANIFEST-\n").size() ||
      !std::all_of(current.begin() + 9, current.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
    return {DirKind::damaged, "its CURRENT file does not name a MANIFEST file (damaged or not written by RocksDB)"};
  }
  current.pop_back();
  const auto manifest = dir / current;
  if (::stat(manifest.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return {DirKind::damaged, "CURRENT names " + current + ", which is missing"};
  }
  if (st.st_size == 0) return {DirKind::damaged, "CURRENT names " + current + ", which is empty"};

  if (has(kMarkerFile)) {
    std::string marker;
    if (read_file(dir / kMarkerFile, marker, 256) && marker.rfind(kMarkerText, 0) == 0) {
      return {DirKind::store, {}};
    }
    return {DirKind::foreign, "its " + std::string(kMarkerFile) + " file is not an invoice-bridge marker"};
  }
  for (const auto& n : names) {
    if (n.rfind("OPTIONS-", 0) != 0) continue;
    std::string options;
    if (read_file(dir / n, options, 1 << 20) && options.find(kFilterName) != std::string::npos) {
      return {DirKind::unmarked_store, {}};
    }
  }
  return {DirKind::foreign,
          "holds a RocksDB database that invoice-bridge did not create (no " + std::string(kMarkerFile) +
              " file, and its OPTIONS files do not name our compaction filter)"};
}

std::string write_marker(const fs::path& dir) {
  const auto path = dir / kMarkerFile;
  const auto tmp = dir / (std::string(kMarkerFile) + ".tmp");
  const std::string text = std::string(kMarkerText) + "\nformat 1\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::string("cannot create ") + tmp.string() + ": " + std::strerror(errno);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return "cannot write " + tmp.string() + ": " + std::strerror(err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return "cannot rename " + tmp.string() + ": " + std::strerror(e);
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace ib::dedup::detail
