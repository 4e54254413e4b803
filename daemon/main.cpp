// invoice-bridge: the composition root. Parses the command line and hands each
// command to lib/; nothing here is tested on its own.
#include "app/daemon.hpp"
#include "app/daemon_config.hpp"
#include "tools/import_command.hpp"
#include "config/config_source.hpp"
#include "core/log.hpp"
#include "demo/demo.hpp"
#include "invoice/protobuf_log.hpp"
#include "operator_commands.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#ifndef IB_VERSION
#define IB_VERSION "unknown"
#endif

namespace {

int run_daemon(const std::string& path) {
  // The same checks as check-config, host included: a missing secret or store directory
  // stops the start here, with the line that names it, not later in the middle of startup.
  auto loaded = ib::app::check_daemon_config(path, ib::config::environment());
  if (!loaded.problems.empty()) {
    for (const auto& p : loaded.problems) std::fprintf(stderr, "invoice-bridge run: %s\n", p.c_str());
    return 2;
  }
  ib::log::setup(loaded.config.log.format, loaded.config.log.level);
  for (const auto& w : loaded.warnings) ib::log::warn("config", {{"warning", w}});
  try {
    auto factory = ib::app::make_d365_factory(loaded.config);
    ib::app::Daemon daemon(loaded.config, std::move(factory));
    return daemon.run();
  } catch (const std::exception& e) {
    ib::log::error("startup failed", {{"error", e.what()}});
    return 2;
  }
}

int check_config(const std::string& path, bool host_checks) {
  auto loaded = ib::app::check_daemon_config(path, ib::config::environment(), host_checks);
  for (const auto& p : loaded.problems) std::fprintf(stderr, "%s\n", p.c_str());
  for (const auto& w : loaded.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!loaded.problems.empty()) return 1;
  // A warning, not a problem: test setups use it on purpose (exit status stays 0).
  if (loaded.config.d365.tls_insecure) {
    std::fprintf(stderr,
                 "warning: d365.tls.insecure: true: D365's TLS certificate is not verified (tests only)\n");
  }
  std::puts("config OK");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Until a command sets up its own logger (run, import), log lines go to stderr as text:
  // stdout is a command's answer (`store ... --json`), a RocksDB warning must not land in it.
  ib::log::setup(ib::log::Format::text, ib::log::Level::info);
  // libprotobuf's own lines go through our logger (whatever format setup() picks later).
  ib::invoice::route_protobuf_logs();
  CLI::App app{"invoice-bridge: imports vendor invoices from Kafka into Microsoft Dynamics 365 "
               "through OData $batch calls, exactly once."};
  app.set_version_flag("--version", std::string("invoice-bridge ") + IB_VERSION);
  app.require_subcommand(0, 1);
  app.footer("Run `invoice-bridge COMMAND --help` for a command's options. Docs: docs/cli.md");

  std::string run_config;
  auto* run = app.add_subcommand("run", "Run the daemon: consume invoices from Kafka and import them into D365.");
  run->add_option("--config", run_config, "YAML config file (docs/configuration.md)")->required();

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Check a config file: print every problem, exit 1 if any.");
  check->add_option("--config", check_path, "YAML config file")->required();
  bool no_host_checks = false;
  check->add_flag("--no-host-checks", no_host_checks,
                  "only the file: not the files, directories and variables it names (a config for another machine)");

  ib::tools::ImportOptions import_options;
  bool no_progress = false;
  auto* import = app.add_subcommand(
      "import", "Import invoices from an NDJSON file (one JSON invoice a line) into D365, then exit.");
  import->add_option("--config", import_options.config_path, "YAML config file (its d365/batch/send/retry keys)")
      ->required();
  import->add_option("INPUT", import_options.input, "NDJSON file, or - for stdin")->required();
  import->add_option("--rejects", import_options.rejects_path,
                     "where rejected lines go (NDJSON; default INPUT.rejects.ndjson)");
  import->add_option("--summary-json", import_options.summary_json, "also write the summary as JSON to this file");
  import->add_flag("--no-progress", no_progress, "no progress lines on stderr");
  import->add_option_function<int>(
        "--deadline", [&](const int& s) { import_options.deadline = std::chrono::seconds(s); },
        "stop after this many seconds as on SIGTERM: settle what is in flight, write unsettled lines "
        "to the rejects, exit 3 (default: no deadline)")
      ->check(CLI::PositiveNumber);
  import->add_option_function<int>(
        "--max-wait", [&](const int& s) { import_options.max_wait = std::chrono::seconds(s); },
        "longest throttle pause in seconds; a longer Retry-After is capped and said (default 60)")
      ->check(CLI::PositiveNumber);
  import->add_option("--max-throttled", import_options.max_throttled_resends,
                     "resends of one invoice per attempt after throttling, then it counts as a transient "
                     "failure (default 5)")
      ->check(CLI::NonNegativeNumber);

  const OperatorCommands operator_commands(app);  // store, review
  ib::demo::DemoOptions demo_options;
  auto* demo = app.add_subcommand(
      "demo", "Run the whole job on embedded parts (mock Kafka, D365 simulator, temp store) and check the result.");
  {
    auto* d = demo;
    d->add_option("--invoices", demo_options.invoices, "distinct valid invoices to generate (default 5000)");
    d->add_option("--duplicates", demo_options.duplicate_percent, "upstream duplicates, percent (default 10)");
    d->add_option("--seed", demo_options.seed, "seed of the stream and of the faults (default 1)");
    d->add_option("--state-dir", demo_options.state_dir, "keep the dedup store here (default: a temp dir, removed)");
    d->add_option("--metrics-port", demo_options.metrics_port, "metrics port on 127.0.0.1 (default 0: any free port)");
    d->add_option_function<int>(
        "--timeout", [&](const int& s) { demo_options.timeout = std::chrono::seconds(s); },
        "overall deadline in seconds (default 300)");
    d->add_option("--log-level", demo_options.log_level, "trace|debug|info|warn|error|critical|off (default warn)");
    d->add_flag_callback("--no-faults", [&] { demo_options.faults = false; },
                         "no injected 503s, applied-then-failed answers or throttling");
    d->add_flag_callback("--no-progress", [&] { demo_options.progress = ib::demo::Progress::none; },
                         "no progress on stderr");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (auto rc = operator_commands.run()) return *rc;
  if (run->parsed()) return run_daemon(run_config);
  if (check->parsed()) return check_config(check_path, !no_host_checks);
  if (demo->parsed()) return ib::demo::run_demo(demo_options, std::cout, std::cerr);
  if (import->parsed()) {
    import_options.progress = !no_progress;
    return ib::tools::import_command(import_options);
  }
  std::puts(app.help().c_str());
  return 0;
}
