#pragma once

#include <filesystem>
#include <string>

namespace ib::testing {

/// A tmpfs of `size` (mount's `size=` option: "16m") mounted at `dir` (created), unmounted
/// on destruction: a small volume a test can fill. Mounting needs root (CAP_SYS_ADMIN): the
/// suite runs as root; elsewhere the test fails and says so (it is never skipped).
class Tmpfs {
public:
  Tmpfs(const std::filesystem::path& dir, const std::string& size);
  ~Tmpfs();
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

}  // namespace ib::testing
