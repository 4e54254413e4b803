#include "testing/tmpfs.hpp"

#include <catch2/catch.hpp>

#include <sys/mount.h>

#include <cerrno>
#include <cstring>

namespace ib::testing {

Tmpfs::Tmpfs(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
  std::filesystem::create_directories(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, ("size=" + size).c_str()) != 0) {
    const int err = errno;
    FAIL("cannot mount a tmpfs of " << size << " at " << dir.string() << ": " << std::strerror(err)
                                     << " (this test needs root or CAP_SYS_ADMIN)");
  }
  mounted_ = true;
}

Tmpfs::~Tmpfs() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

}  // namespace ib::testing
