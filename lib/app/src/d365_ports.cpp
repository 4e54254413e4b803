#include "app/d365_ports.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/auth.hpp"
#include "http/authorized_transport.hpp"
#include "http/beast_transport.hpp"
#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"
#include "invoice/invoice_mapping.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <stdexcept>

namespace ib::app {

namespace {

void throw_problems(std::string_view what, const std::vector<std::string>& problems) {
  if (problems.empty()) return;
  std::string all(what);
  for (const auto& p : problems) all += "\n  " + p;
  throw std::invalid_argument(all);
}

}  // namespace

InvoiceCodecPort::InvoiceCodecPort(invoice::DecodeConfig decode, invoice::KeyConfig key,
                                   invoice::MappingConfig mapping)
    : decode_(std::move(decode)), key_(std::move(key)), mapping_(std::move(mapping)) {
  std::vector<std::string> problems = decode_.validate();
  for (auto& p : key_.validate()) problems.push_back(std::move(p));
  for (auto& p : mapping_.validate()) problems.push_back(std::move(p));
  throw_problems("invoice codec:", problems);
}

std::variant<pipeline::Decoded, std::string> InvoiceCodecPort::decode(const pipeline::InMessage& message) {
  return decode_payload(message.value);
}

std::variant<pipeline::Decoded, std::string> InvoiceCodecPort::decode_payload(std::string_view payload) const {
  auto decoded = invoice::decode(payload, decode_);
  if (!decoded) return decoded.error().message;
  auto mapped = invoice::map_invoice(*decoded, mapping_);
  auto write = std::make_shared<D365Invoice>();
  write->entity_set = std::move(mapped.entity_set);
  write->key = std::move(mapped.key);
  write->body = std::move(mapped.body);
  pipeline::Decoded out;
  out.dedup_key = invoice::dedup_key(*decoded, key_);
  out.fingerprint = invoice::fingerprint(*decoded);
  out.bytes = write->body.size() + 256;  // body + its part's headers
  out.invoice = std::move(write);
  return out;
}

pipeline::SendAnswer to_send_answer(const d365::Answer& a) {
  pipeline::SendAnswer out;
  using O = odata::Outcome;
  using R = pipeline::SendResult;
  switch (a.outcome) {
    case O::created: out.result = R::created; break;
    case O::duplicate: out.result = R::duplicate; break;
    case O::throttled: out.result = R::throttled; break;
    case O::not_processed: out.result = R::not_processed; break;
    case O::transient: out.result = R::transient; break;
    case O::unauthorized:
    case O::permanent: out.result = R::permanent; break;
  }
  out.status = a.status;
  out.error = a.error;
  out.body = a.body;
  out.record_id = a.record_id;
  if (a.retry_after) out.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*a.retry_after);
  return out;
}

BatchSendPort::BatchSendPort(std::shared_ptr<d365::BatchClient> client) : client_(std::move(client)) {
  if (!client_) throw std::invalid_argument("BatchSendPort: no client");
}

boost::asio::awaitable<std::vector<pipeline::SendAnswer>> BatchSendPort::send(
    std::vector<std::shared_ptr<const void>> invoices) {
  std::vector<odata::EntityWrite> writes;
  writes.reserve(invoices.size());
  for (const auto& p : invoices) writes.push_back(*static_cast<const D365Invoice*>(p.get()));
  auto answers = co_await client_->send(std::move(writes));
  std::vector<pipeline::SendAnswer> out;
  out.reserve(answers.size());
  for (const auto& a : answers) out.push_back(to_send_answer(a));
  co_return out;
}

std::shared_ptr<http::Transport> make_d365_transport(boost::asio::any_io_executor executor,
                                                     const D365Config& config,
                                                     const config::Environment& env) {
  throw_problems("d365 config:", config.validate());
  http::BeastTransportConfig tc;
  tc.base_url = config.base_url;
  tc.max_connections = config.max_connections;
  tc.default_deadline = config.request_deadline;
  tc.tls_ca_file = config.tls_ca_file;
  tc.tls_verify_peer = !config.tls_insecure;
  auto beast = std::make_shared<http::BeastTransport>(executor, tc);
  if (config.auth.mode == AuthMode::none) return beast;
  // The d365.auth keys onto the HTTP module's auth config: one place reads secrets and
  // builds the token endpoint's transport (with the same TLS settings).
  http::AuthConfig auth;
  auth.mode = config.auth.mode;
  auth.static_token_file = config.auth.token_file;
  auth.static_token_env = config.auth.token_env;
  auth.oauth.token_url = config.auth.effective_token_url();
  auth.oauth.client_id = config.auth.client_id;
  auth.oauth.scope = config.auth.scope;
  auth.oauth.client_secret_file = config.auth.client_secret_file;
  auth.oauth.client_secret_env = config.auth.client_secret_env;
  if (auth.mode == AuthMode::client_credentials) {
    log::info("d365 auth: client credentials", {{"source", http::to_string(auth.oauth)}});
  }
  auto tokens = http::make_token_provider(executor, auth, tc, core::system_clock(),
                                          http::Environment(env.begin(), env.end()));
  return std::make_shared<http::AuthorizedTransport>(beast, tokens);
}

D365Factory make_d365_factory(const D365Config& config) {
  throw_problems("d365 config:", config.validate());
  return [config](boost::asio::any_io_executor executor) {
    D365Parts parts;
    parts.codec = std::make_unique<InvoiceCodecPort>(config.invoice, config.key, config.mapping);
    auto transport = make_d365_transport(executor, config, config::environment());
    auto client = std::make_shared<d365::BatchClient>(transport, config.batch_client_config());
    parts.sender = std::make_unique<BatchSendPort>(std::move(client));
    return parts;
  };
}

}  // namespace ib::app
