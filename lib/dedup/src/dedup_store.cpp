#include "dedup/dedup_store.hpp"

#include <stdexcept>

namespace ib::dedup {

std::string_view to_string(StoreErrc code) {
  switch (code) {
    case StoreErrc::in_use: return "in_use";
    case StoreErrc::no_space: return "no_space";
    case StoreErrc::corruption: return "corruption";
    case StoreErrc::io_error: return "io_error";
    case StoreErrc::not_found: return "not_found";
    case StoreErrc::not_a_store: return "not_a_store";
    case StoreErrc::invalid_argument: return "invalid_argument";
    case StoreErrc::injected: return "injected";
    case StoreErrc::other: return "other";
  }
  return "unknown";
}

void throw_exception_from_error(const StoreError& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

Result<std::optional<Entry>> DedupStore::get(std::string_view key) {
  const std::string k(key);
  auto r = lookup(std::span<const std::string>(&k, 1));
  if (!r) return r.error();
  return std::move(r->front());
}

}  // namespace ib::dedup
