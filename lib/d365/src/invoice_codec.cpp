#include "d365/invoice_codec.hpp"

#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"
#include "invoice/invoice_mapping.hpp"

#include <stdexcept>

namespace ib::d365 {

EntityInvoiceCodec::EntityInvoiceCodec(invoice::DecodeConfig decode, invoice::KeyConfig key,
                                       invoice::MappingConfig mapping)
    : decode_(std::move(decode)), key_(std::move(key)), mapping_(std::move(mapping)) {
  std::vector<std::string> problems = decode_.validate();
  for (auto& p : key_.validate()) problems.push_back(std::move(p));
  for (auto& p : mapping_.validate()) problems.push_back(std::move(p));
  if (problems.empty()) return;
  std::string all("invoice codec:");
  for (const auto& p : problems) all += "\n  " + p;
  throw std::invalid_argument(all);
}

core::Result<DecodedInvoice> EntityInvoiceCodec::decode(std::string_view payload) const {
  auto decoded = invoice::decode(payload, decode_);
  if (!decoded) return decoded.error();
  DecodedInvoice out;
  out.dedup_key = invoice::dedup_key(*decoded, key_);
  out.fingerprint = invoice::fingerprint(*decoded);
  auto mapped = invoice::map_invoice(*decoded, mapping_, out.dedup_key);
  out.write.entity_set = std::move(mapped.entity_set);
  out.write.key = std::move(mapped.key);
  out.write.body = std::move(mapped.body);
  out.write.lines.reserve(mapped.lines.size());
  for (auto& line : mapped.lines) {
    odata::EntityWrite w;
    w.entity_set = std::move(line.entity_set);
    w.body = std::move(line.body);
    out.write.lines.push_back(std::move(w));
  }
  return out;
}

}  // namespace ib::d365
