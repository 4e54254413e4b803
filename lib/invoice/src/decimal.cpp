#include "invoice/decimal.hpp"

#include <cstdlib>

namespace ib::invoice {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Error not_a_number() { return Error{"not a decimal number"}; }

}  // namespace

Result<Decimal> Decimal::parse(std::string_view s) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  std::string digits;  // all mantissa digits, integer then fraction
  long fraction = 0;   // how many of them follow the point
  bool any_digit = false;
  while (i < s.size() && is_digit(s[i])) {
    digits.push_back(s[i++]);
    any_digit = true;
    if (digits.size() > 4096) return Error{"too many digits"};
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) {
      digits.push_back(s[i++]);
      ++fraction;
      any_digit = true;
      if (digits.size() > 4096) return Error{"too many digits"};
    }
  }
  if (!any_digit) return not_a_number();
  long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    if (i == s.size() || !is_digit(s[i])) return not_a_number();
    while (i < s.size() && is_digit(s[i])) {
      exponent = exponent * 10 + (s[i++] - '0');
      if (exponent > kMaxExponent) return Error{"exponent out of range"};
    }
    if (exp_negative) exponent = -exponent;
  }
  if (i != s.size()) return not_a_number();

  // value = digits * 10^(exponent - fraction)
  long scale = fraction - exponent;
  // strip leading zeros (keep digits non-empty)
  std::size_t lead = 0;
  while (lead + 1 < digits.size() && digits[lead] == '0') ++lead;
  digits.erase(0, lead);
  if (digits == "0") return Decimal{};
  // strip trailing zeros while they are fraction digits; move them into the exponent
  while (scale > 0 && digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    --scale;
  }
  if (scale < 0) {
    if (static_cast<long>(digits.size()) - scale > kMaxDigits) return Error{"too many digits"};
    digits.append(static_cast<std::size_t>(-scale), '0');
    scale = 0;
  }
  // SQL decimal(38, s) precision: integer digits (none for a value below 1) + fraction digits.
  const long int_digits = std::max<long>(static_cast<long>(digits.size()) - scale, 0);
  if (int_digits + scale > kMaxDigits) return Error{"too many digits"};
  std::string out;
  if (negative) out.push_back('-');
  if (scale == 0) {
    out += digits;
  } else if (static_cast<long>(digits.size()) > scale) {
    const auto split = digits.size() - static_cast<std::size_t>(scale);
    out.append(digits, 0, split);
    out.push_back('.');
    out.append(digits, split);
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(scale) - digits.size(), '0');
    out += digits;
  }
  return Decimal{std::move(out)};
}

Decimal Decimal::from_int(std::int64_t value) {
  if (value == 0) return Decimal{};
  return Decimal{std::to_string(value)};
}

int Decimal::scale() const {
  const auto dot = text_.find('.');
  return dot == std::string::npos ? 0 : static_cast<int>(text_.size() - dot - 1);
}

}  // namespace ib::invoice
