// libFuzzer target: ib::invoice::decode_protobuf on arbitrary bytes (a serialized
// ib.proto.Invoice, proto/invoice.proto). Invariants (invoice_fuzz_check.hpp): never throws;
// a refusal is one line of valid UTF-8; an accepted invoice respects the limits and decodes
// the same twice.

#include "invoice_fuzz_check.hpp"

#include "invoice/invoice_codec.hpp"

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
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  DecodeConfig cfg;
  cfg.format = PayloadFormat::protobuf;
  cfg.max_lines = 8;
  cfg.max_extra_fields = 8;
  cfg.max_string_bytes = 64;
  ib::fuzz::check_invoice_decoding(payload, cfg, [](std::string_view p, const DecodeConfig& c) { return decode_protobuf(p, c); });
  return 0;
}
