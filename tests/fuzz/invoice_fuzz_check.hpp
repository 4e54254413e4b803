#pragma once

// The invariants both invoice decoder targets check (invoice_json_fuzzer.cpp,
// invoice_protobuf_fuzzer.cpp): never throws; a refusal is one non-empty line of valid UTF-8
// (it goes into rejects and review records); an accepted invoice respects the limits and
// decodes to the same key and fingerprint twice.

#include "fuzz_check.hpp"

#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"

#include <string_view>

namespace ib::fuzz {

template <typename Decode>
void check_invoice_decoding(std::string_view payload, const invoice::DecodeConfig& cfg, Decode decode) {
  using namespace ib::invoice;
  try {
    const auto a = decode(payload, cfg);
    if (!a) {
      const auto& message = a.error().message;
      require(!message.empty(), "a refusal names its reason");
      require(message.find('\n') == std::string_view::npos, "a refusal is one line");
      require(is_valid_utf8(message), "a refusal is valid UTF-8");
      return;
    }
    require(a->lines.size() <= cfg.max_lines, "line limit");
    const auto b = decode(payload, cfg);
    require(b.has_value(), "decoding is deterministic");
    require(fingerprint(*a) == fingerprint(*b), "fingerprint is deterministic");
    require(dedup_key(*a, KeyConfig{}) == dedup_key(*b, KeyConfig{}), "dedup key is deterministic");
  } catch (...) {
    require(false, "the decoder threw");
  }
}

}  // namespace ib::fuzz
