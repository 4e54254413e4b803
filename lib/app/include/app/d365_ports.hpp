#pragma once

#include "app/d365_config.hpp"
#include "app/daemon.hpp"
#include "config/config_source.hpp"
#include "d365/batch_client.hpp"
#include "http/transport.hpp"
#include "invoice/invoice_config.hpp"
#include "odata/batch_writer.hpp"
#include "pipeline/ports.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string_view>
#include <variant>

namespace ib::app {

/// What InvoiceCodecPort puts behind `Decoded::invoice`: the mapped record, ready for the
/// batch writer. BatchSendPort casts back to it.
using D365Invoice = odata::EntityWrite;

/// pipeline::InvoiceCodec over ib::invoice: decode (JSON/protobuf per config), dedup key,
/// fingerprint, and mapping to the entity set. Pure; any thread.
class InvoiceCodecPort final : public pipeline::InvoiceCodec {
public:
  /// Throws std::invalid_argument when the configs are invalid.
  InvoiceCodecPort(invoice::DecodeConfig decode, invoice::KeyConfig key, invoice::MappingConfig mapping);
  std::variant<pipeline::Decoded, std::string> decode(const pipeline::InMessage& message) override;
  /// The same for a bare payload (`import`).
  std::variant<pipeline::Decoded, std::string> decode_payload(std::string_view payload) const;

private:
  invoice::DecodeConfig decode_;
  invoice::KeyConfig key_;
  invoice::MappingConfig mapping_;
};

/// pipeline::SendPort over d365::BatchClient. The invoices must come from InvoiceCodecPort
/// (each points at a D365Invoice). Thread: the client's executor.
class BatchSendPort final : public pipeline::SendPort {
public:
  explicit BatchSendPort(std::shared_ptr<d365::BatchClient> client);
  boost::asio::awaitable<std::vector<pipeline::SendAnswer>> send(
      std::vector<std::shared_ptr<const void>> invoices) override;
  const d365::BatchClient& client() const { return *client_; }

private:
  std::shared_ptr<d365::BatchClient> client_;
};

/// d365::Answer -> pipeline::SendAnswer (pure).
pipeline::SendAnswer to_send_answer(const d365::Answer& answer);

/// The HTTP transport to D365 per `config`: a BeastTransport (pool, TLS, deadline) wrapped
/// in an AuthorizedTransport when auth is on. Reads the token / client secret from its file
/// or environment variable (`env`); throws std::runtime_error naming the source (never the
/// value) when missing, std::invalid_argument on bad settings. Startup only.
std::shared_ptr<http::Transport> make_d365_transport(boost::asio::any_io_executor executor,
                                                     const D365Config& config,
                                                     const config::Environment& env);

/// The daemon's D365 side: InvoiceCodecPort + BatchSendPort over make_d365_transport()
/// with the process environment, built on the daemon's executor.
D365Factory make_d365_factory(const D365Config& config);

}  // namespace ib::app
