// d365-sim: the Dataverse (or Finance and Operations) simulator as a process (composition root only; see lib/sim and
// docs/simulator.md). Prints `listening on http(s)://HOST:PORT` as its first stdout line.
#include "sim/simulator.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  CLI::App app{"d365-sim: a Microsoft Dataverse-like OData server (alternate keys, $batch, "
               "service protection limits, faults, OAuth2) for tests, benchmarks and demos."};
  std::string listen = "127.0.0.1:0";
  std::string config;
  std::string records;
  std::string save_records;
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::string tls_cert, tls_key;
  std::string log_level = "info";
  std::string profile;
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--config", config, "JSON config file (docs/simulator.md lists every key)");
  app.add_option("--profile", profile,
                 "dataverse|finance_operations: the preset the config file applies to "
                 "(default dataverse, or the config's \"profile\")");
  app.add_option("--records", records, "load records from this JSON file at start")
      ->check(CLI::ExistingFile);
  app.add_option("--save-records", save_records,
                 "write all records to this JSON file on exit (SIGTERM/SIGINT)");
  auto* seed_opt = app.add_option("--seed", seed, "seed of fault draws and generated ids (default 1)");
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve https")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert")->check(CLI::ExistingFile);
  app.add_option("--log-level", log_level,
                 "trace|debug|info|warn|error|off; debug logs one line per request")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  seed_given = seed_opt->count() > 0;

  try {
    // Logs go to stderr: stdout carries only the listening line.
    spdlog::set_default_logger(spdlog::stderr_color_mt("d365-sim"));
    spdlog::set_level(spdlog::level::from_str(log_level));
    ib::sim::SimOptions options;
    if (!profile.empty()) {
      const auto p = ib::sim::parse_profile(profile);
      if (!p) throw std::invalid_argument("--profile must be dataverse or finance_operations, not '" + profile + "'");
      options = ib::sim::SimOptions::for_profile(*p);
    }
    if (!config.empty()) options = ib::sim::load_options(config, options);
    if (!profile.empty() && ib::sim::to_string(options.profile) != profile)
      throw std::invalid_argument("--profile " + profile + " contradicts the config's profile " +
                                  std::string(ib::sim::to_string(options.profile)));
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--listen must be HOST:PORT");
    options.listen_address = listen.substr(0, colon);
    if (options.listen_address.size() > 2 && options.listen_address.front() == '[')
      options.listen_address = options.listen_address.substr(1, options.listen_address.size() - 2);
    options.port = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
    if (seed_given) options.seed = seed;
    if (!records.empty()) options.records_file = records;
    if (tls_cert.empty() != tls_key.empty())
      throw std::invalid_argument("give both --tls-cert and --tls-key");
    if (!tls_cert.empty()) options.tls = {tls_cert, tls_key};

    boost::asio::io_context ctx(1);
    ib::sim::Simulator sim(ctx.get_executor(), options);
    std::printf("listening on %s\n", sim.base_url().c_str());
    std::fflush(stdout);
    spdlog::info("d365-sim: service root {}", sim.service_url());

    boost::asio::signal_set signals(ctx, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("d365-sim: signal {}, stopping", sig);
      sim.stop();
      ctx.stop();
    });
    ctx.run();
    if (!save_records.empty()) {
      sim.save_records(save_records);
      spdlog::info("d365-sim: records saved to {}", save_records);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "d365-sim: %s\n", e.what());
    return 1;
  }
}
