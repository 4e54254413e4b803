#include "config/host_checks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ib::config {

void HostFindings::add(HostFindings more) {
  for (auto& p : more.problems) problems.push_back(std::move(p));
  for (auto& w : more.warnings) warnings.push_back(std::move(w));
}

void check_readable_file(std::string_view what, const std::filesystem::path& path, FileRole role,
                         HostFindings& out) {
  const std::string head = std::string(what) + ": " + path.string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    out.problems.push_back(head + (err == ENOENT ? ": no such file" : ": cannot be checked: " +
                                                                          std::string(std::strerror(err))));
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    out.problems.push_back(head + ": is a directory, not a file");
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    out.problems.push_back(head + ": is not a regular file");
    return;
  }
  // Opening is the test `run` passes or fails; access(2) would answer for the real uid.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    out.problems.push_back(head + ": cannot be opened for reading: " + std::strerror(errno));
    return;
  }
  ::close(fd);
  if (role == FileRole::secret && st.st_size == 0) {
    out.problems.push_back(head + ": is empty");
    return;
  }
  if (role == FileRole::secret && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.warnings.push_back(head + " is readable by group or others (mode " + mode +
                           "); make it 0600 or 0400");
  }
}

}  // namespace ib::config
