// libFuzzer target: the lifetime of an OAuth2 token answer (http::token_lifetime on the
// `expires_in` member of a JSON body, as OAuthTokenProvider reads a 200 from Entra ID).
// Invariants: never throws; a lifetime is always within [1 s, kMaxTokenLifetime] (clamped,
// never overflowed or negative); a missing/null expires_in gives kDefaultTokenLifetime; a
// positive JSON integer or a string of digits gives exactly min(value, max).

#include "fuzz_check.hpp"

#include "http/oauth_token_provider.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

/// The value a string of decimal digits stands for, saturated at `cap` (no overflow).
std::int64_t saturated(std::string_view digits, std::int64_t cap) {
  std::int64_t v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
    if (v >= cap) return cap;
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ib::http;
  using ib::fuzz::require;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    boost::system::error_code ec;
    const auto json = boost::json::parse(body, ec);
    if (ec || !json.is_object()) return 0;
    const auto* expires_in = json.as_object().if_contains("expires_in");
    const auto lifetime = token_lifetime(expires_in);
    const std::int64_t max = kMaxTokenLifetime.count();
    if (lifetime) require(lifetime->count() >= 1 && lifetime->count() <= max, "lifetime within [1 s, max]");
    if (expires_in == nullptr || expires_in->is_null()) {
      require(lifetime == kDefaultTokenLifetime, "missing expires_in gives the default");
    } else if (expires_in->is_int64()) {
      const auto v = expires_in->as_int64();
      require(v <= 0 ? !lifetime : lifetime && lifetime->count() == std::min(v, max), "integer clamped");
    } else if (expires_in->is_uint64()) {
      require(lifetime == kMaxTokenLifetime, "huge integer clamped");
    } else if (expires_in->is_string()) {
      const std::string_view s = expires_in->as_string();
      const bool digits = !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return c >= '0' && c <= '9';
      });
      const std::int64_t v = digits ? saturated(s, max) : 0;
      require(v <= 0 ? !lifetime : lifetime && lifetime->count() == v, "digit string clamped");
    } else {
      require(!lifetime, "fractions and other types are refused");
    }
  } catch (...) {
    require(false, "token_lifetime threw");
  }
  return 0;
}
