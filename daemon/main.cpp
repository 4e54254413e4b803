// invoice-bridge: the composition root. Parses the command line and hands each
// command to lib/; nothing here is tested on its own.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#ifndef IB_VERSION
#define IB_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  CLI::App app{"invoice-bridge: imports vendor invoices from Kafka into Microsoft Dynamics 365 "
               "through OData $batch calls, exactly once."};
  app.set_version_flag("--version", std::string("invoice-bridge ") + IB_VERSION);
  app.require_subcommand(0, 1);
  app.footer("Run `invoice-bridge COMMAND --help` for a command's options. Docs: docs/cli.md");

  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::puts(app.help().c_str());
    return 0;
  }
  return 0;
}
