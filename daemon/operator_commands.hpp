#pragma once
// The operator commands `store` and `review` on the command line (CLI11); the work is in
// lib/app (store_command.hpp, review_command.hpp).
#include "tools/review_command.hpp"
#include "tools/store_command.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

class OperatorCommands {
public:
  /// Adds `store` and `review` with their subcommands to `app`.
  explicit OperatorCommands(CLI::App& app);
  /// After parsing: the exit status of the operator command given, nullopt if none was.
  std::optional<int> run() const;

private:
  std::string config_path_;
  ib::tools::StoreOptions store_;
  ib::tools::ReviewOptions review_;
  CLI::App* store_cmd_ = nullptr;
  CLI::App* review_cmd_ = nullptr;
};
