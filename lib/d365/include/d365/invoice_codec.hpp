#pragma once

#include "core/error.hpp"
#include "invoice/invoice_config.hpp"
#include "odata/batch_writer.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace ib::d365 {

/// A payload that passed decoding and validation: its dedup key, content fingerprint and
/// the entity write that creates it in D365. What the pipeline carries from admission to
/// the sender.
struct DecodedInvoice {
  std::string dedup_key;
  std::string fingerprint;
  odata::EntityWrite write;

  /// Approximate size of its requests inside a `$batch` (bodies + part headers, lines
  /// included), for the batcher's byte limit.
  std::size_t request_bytes() const {
    std::size_t n = write.body.size() + 256;
    for (const auto& line : write.lines) n += line.body.size() + 256;
    return n;
  }
};

/// Decode + validate + key + fingerprint + mapping of one payload. Pure; any thread.
class InvoiceCodec {
public:
  virtual ~InvoiceCodec() = default;
  /// The invoice, or why it is invalid (one line naming the field, for the review message).
  virtual core::Result<DecodedInvoice> decode(std::string_view payload) const = 0;
};

/// The production codec over ib::invoice: JSON or protobuf per `decode`, dedup key per
/// `key`, and the entity set and body per `mapping`; with lines_format entities, each
/// line a record of `write.lines` (one change set with its header).
class EntityInvoiceCodec final : public InvoiceCodec {
public:
  /// Throws std::invalid_argument listing every problem of the configs.
  EntityInvoiceCodec(invoice::DecodeConfig decode, invoice::KeyConfig key, invoice::MappingConfig mapping);
  core::Result<DecodedInvoice> decode(std::string_view payload) const override;

private:
  invoice::DecodeConfig decode_;
  invoice::KeyConfig key_;
  invoice::MappingConfig mapping_;
};

}  // namespace ib::d365
