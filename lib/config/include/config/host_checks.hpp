#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ib::config {

/// What the startup checks against this host found (the files and directories a
/// configuration names, the environment variables it reads secrets from). `check-config`
/// prints both; `run` refuses to start on any problem and logs the warnings.
struct HostFindings {
  std::vector<std::string> problems;
  std::vector<std::string> warnings;

  void add(HostFindings more);
};

/// Whether a file holds a secret: a secret that group or others may read is a warning.
enum class FileRole { plain, secret };

/// `path` exists, is a regular file (symbolic links followed) and this process can open it
/// for reading; never reads or changes it. `what` starts each message (`key (FILE:LINE)`,
/// from ConfigSource::describe). Messages: `WHAT: PATH: no such file`, `... is a directory,
/// not a file`, `... is not a regular file`, `... cannot be opened for reading: REASON`;
/// with FileRole::secret, `... is empty` and the warning `WHAT: PATH is readable by group or others (mode
/// 0644); make it 0600 or 0400`.
void check_readable_file(std::string_view what, const std::filesystem::path& path, FileRole role,
                         HostFindings& out);

}  // namespace ib::config
