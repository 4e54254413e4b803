#pragma once

#include <filesystem>
#include <string_view>

namespace ib::testing {

/// A fresh directory under the system temp folder, removed with everything in it
/// when the object is destroyed. Not copyable.
class TempDir {
public:
  explicit TempDir(std::string_view prefix = "ib-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace ib::testing
