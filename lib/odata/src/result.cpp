#include "odata/result.hpp"

#include <stdexcept>

namespace ib::odata {

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::invalid_argument(e.message);
}

namespace {
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < k.size() && eq; ++i) eq = lower(k[i]) == lower(name[i]);
    if (eq) return std::string_view(v);
  }
  return std::nullopt;
}

}  // namespace ib::odata
