#pragma once

#include "invoice/decimal.hpp"
#include "invoice/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::invoice {

/// A calendar date (ISO 8601 `yyyy-mm-dd`, proleptic Gregorian, years 0001..9999).
struct Date {
  int year = 1970;
  int month = 1;
  int day = 1;

  /// Strict `yyyy-mm-dd` with a real calendar day (leap years checked).
  static Result<Date> parse(std::string_view text);
  /// `yyyy-mm-dd`.
  std::string to_string() const;
  friend bool operator==(const Date&, const Date&) = default;
};

/// One invoice line.
struct InvoiceLine {
  std::string line_number;          ///< optional; empty when not given
  std::string description;          ///< optional
  std::string item;                 ///< item / product / procurement code, optional
  std::optional<Decimal> quantity;  ///< optional
  std::optional<Decimal> unit_price;
  Decimal amount;                   ///< required: the line's net amount
  friend bool operator==(const InvoiceLine&, const InvoiceLine&) = default;
};

/// A free field's value (the input's `extra` object): a string, an exact number or a bool.
struct FreeValue {
  enum class Kind { string, number, boolean };
  Kind kind = Kind::string;
  /// The string itself, the canonical Decimal text, or `true`/`false`.
  std::string text;
  friend bool operator==(const FreeValue&, const FreeValue&) = default;
};

/// The canonical invoice record every input format decodes to. Strings are trimmed of
/// surrounding ASCII whitespace by the decoders; `currency` is upper case.
struct Invoice {
  std::string vendor_account;  ///< required
  std::string invoice_number;  ///< required
  std::string company;         ///< company / legal entity (dataAreaId); required unless defaulted
  Date invoice_date;           ///< required
  std::optional<Date> due_date;
  std::string currency;        ///< required, ISO 4217 (3 letters, upper case)
  Decimal amount;              ///< required, total as sent (credit notes may be negative)
  std::optional<Decimal> tax;
  std::string description;     ///< optional
  std::vector<InvoiceLine> lines;
  /// Extra key/values, sorted by key, keys unique.
  std::vector<std::pair<std::string, FreeValue>> extra;
  friend bool operator==(const Invoice&, const Invoice&) = default;
};

}  // namespace ib::invoice
