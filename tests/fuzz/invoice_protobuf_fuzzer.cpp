// libFuzzer target: ib::invoice::decode_protobuf on arbitrary bytes (a serialized
// ib.proto.Invoice, proto/invoice.proto). Invariants: never throws; a refusal is a one-line,
// non-empty message; an accepted invoice respects the limits and decodes the same twice.

#include "fuzz_check.hpp"

#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

// protobuf logs every invalid UTF-8 map key it parses; the decoder's answer is what counts.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ib::invoice;
  using ib::fuzz::require;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  DecodeConfig cfg;
  cfg.format = PayloadFormat::protobuf;
  cfg.max_lines = 8;
  cfg.max_extra_fields = 8;
  cfg.max_string_bytes = 64;
  try {
    const auto a = decode(payload, cfg);
    if (!a) {
      require(!a.error().message.empty(), "a refusal names its reason");
      require(a.error().message.find('\n') == std::string_view::npos, "a refusal is one line");
      return 0;
    }
    require(a->lines.size() <= cfg.max_lines, "line limit");
    const auto b = decode_protobuf(payload, cfg);
    require(b.has_value(), "decoding is deterministic");
    require(fingerprint(*a) == fingerprint(*b), "fingerprint is deterministic");
    require(dedup_key(*a, KeyConfig{}) == dedup_key(*b, KeyConfig{}), "dedup key is deterministic");
  } catch (...) {
    require(false, "decode_protobuf threw");
  }
  return 0;
}
