// libFuzzer target: ib::invoice::decode_json on arbitrary bytes (the input topic's values).
// Invariants (invoice_fuzz_check.hpp): never throws; a refusal is one line of valid UTF-8; an
// accepted invoice respects the configured limits, and decoding is deterministic (same key
// and fingerprint).

#include "invoice_fuzz_check.hpp"

#include "invoice/invoice_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ib::invoice;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  DecodeConfig cfg;
  cfg.max_lines = 8;
  cfg.max_extra_fields = 8;
  cfg.max_string_bytes = 64;
  cfg.max_json_depth = 8;
  ib::fuzz::check_invoice_decoding(payload, cfg, [](std::string_view p, const DecodeConfig& c) { return decode_json(p, c); });
  return 0;
}
