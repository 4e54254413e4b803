#pragma once

#include "invoice/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ib::invoice {

/// An exact decimal number (money, quantities): never a double. Kept canonical, so two
/// Decimals are equal exactly when their values are: `100`, `100.0`, `1e2` and `"100.00"`
/// all parse to the value printed as `100`.
class Decimal {
public:
  /// Most digits of precision (integer digits, none below 1, + fraction digits), as SQL decimal(38, s).
  static constexpr int kMaxDigits = 38;
  /// Largest exponent magnitude accepted in `1e<exp>` input (bounds the work done).
  static constexpr int kMaxExponent = 400;

  /// Zero.
  Decimal() = default;

  /// Parses `[+-]digits[.digits][(e|E)[+-]digits]`, also `.5` and `5.`. No whitespace, no
  /// thousands separators, no `NaN`/`Infinity`. Errors: not a number, too many digits.
  static Result<Decimal> parse(std::string_view text);
  /// From an integer (exact).
  static Decimal from_int(std::int64_t value);

  /// Canonical text: `-` only for negatives, no leading zeros, no trailing fraction zeros,
  /// no exponent: `100`, `-0.5`, `12.34`. Valid as a JSON number.
  const std::string& to_string() const { return text_; }
  bool is_negative() const { return !text_.empty() && text_[0] == '-'; }
  bool is_zero() const { return text_ == "0"; }
  /// Number of fraction digits in the canonical form.
  int scale() const;

  friend bool operator==(const Decimal& a, const Decimal& b) { return a.text_ == b.text_; }

private:
  explicit Decimal(std::string text) : text_(std::move(text)) {}
  std::string text_ = "0";
};

}  // namespace ib::invoice
