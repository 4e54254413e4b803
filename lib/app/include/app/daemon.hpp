#pragma once

#include "app/daemon_config.hpp"
#include "d365/d365_config.hpp"
#include "d365/invoice_codec.hpp"
#include "d365/sender.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>

namespace ib::app {

/// The D365 side of one deployment: how payloads are decoded and how batches are sent.
/// Built on the daemon's io_context (the sender's HTTP client lives there).
struct D365Parts {
  std::unique_ptr<d365::InvoiceCodec> codec;
  std::unique_ptr<d365::Sender> sender;
};
using D365Factory = std::function<D365Parts(boost::asio::any_io_executor)>;

/// The production D365 side of `config.d365`: d365::EntityInvoiceCodec + d365::BatchClient
/// over d365::make_d365_transport() with the process environment; the client writes at
/// most `batch.max_items` requests per `$batch`. Throws std::invalid_argument listing every
/// problem of `config.d365`.
D365Factory make_d365_factory(const DaemonConfig& config);

/// `invoice-bridge run`: the daemon. Opens the dedup store, makes sure the retry and
/// review topics exist, starts the consumer, producer, pipeline and metrics endpoint, and
/// runs on the calling thread until SIGTERM/SIGINT, request_stop() or a fatal error. Then:
/// stops fetching, drains in-flight batches within the drain deadline, commits the
/// offsets whose outcome is durable, closes the consumer, flushes the producer and syncs
/// the store. Notifies systemd when run under it (docs/deploy.md): READY once the consumer
/// has joined its group, STATUS, WATCHDOG from the io thread, STOPPING.
class Daemon {
public:
  Daemon(DaemonConfig config, D365Factory d365);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Runs to the end; the process exit status: 0 after an orderly stop, 1 after a fatal
  /// error (logged), 2 when startup failed (logged: store in use, port taken...) or D365's
  /// (or its token endpoint's) TLS certificate failed verification (logged), 3 when the
  /// retry and review topics could not be made (Kafka unreachable: worth a restart).
  /// `handle_signals`: stop on SIGTERM/SIGINT (off in tests that run several daemons).
  int run(bool handle_signals = true);

  /// Asks a running daemon to stop as on SIGTERM. Thread-safe; no-op before run().
  void request_stop();

  /// The metrics endpoint's URL once running (empty before); thread-safe.
  std::string metrics_url() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ib::app
