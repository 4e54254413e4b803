#include "invoice/decimal.hpp"
#include "invoice/invoice.hpp"

#include <catch2/catch.hpp>

using ib::invoice::Date;
using ib::invoice::Decimal;

TEST_CASE("Decimal: equal values print the same canonical text") {
  const std::pair<const char*, const char*> rows[] = {
      {"100", "100"},        {"100.0", "100"},       {"1e2", "100"},          {"100.00", "100"},
      {"1E+2", "100"},       {"10000e-2", "100"},    {"0100", "100"},         {"-0", "0"},
      {"0.000", "0"},        {"-0.50", "-0.5"},      {".5", "0.5"},           {"5.", "5"},
      {"+12.340", "12.34"},  {"1.5e-3", "0.0015"},   {"123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"},
      {"0.1", "0.1"},        {"2.675", "2.675"},     {"-1234.5600", "-1234.56"}, {"0e10", "0"},
  };
  for (const auto& [in, want] : rows) {
    INFO(in);
    const auto d = Decimal::parse(in);
    REQUIRE(d.has_value());
    CHECK(d->to_string() == want);
  }
  CHECK(Decimal::parse("100").value() == Decimal::parse("1e2").value());
  CHECK(Decimal::parse("-0.5").value().is_negative());
  CHECK(Decimal::parse("12.340").value().scale() == 2);
  CHECK(Decimal::from_int(-42).to_string() == "-42");
  CHECK(Decimal().is_zero());
}

TEST_CASE("Decimal: rejects what is not an exact decimal") {
  for (const char* bad : {"", "abc", "1,5", " 1", "1 ", "1e", "e2", "--1", "1.2.3", "NaN", "Infinity", "0x10",
                          "1e999", "1e-999", "1234567890123456789012345678901234567890", "."}) {
    INFO(bad);
    CHECK_FALSE(Decimal::parse(bad).has_value());
  }
}

TEST_CASE("Date: strict ISO yyyy-mm-dd with real calendar days") {
  CHECK(Date::parse("2024-02-29").value().to_string() == "2024-02-29");
  CHECK(Date::parse("2000-02-29").has_value());
  for (const char* bad : {"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-01",
                          "24-01-01", "2024/01/01", "2024-01-01T00:00:00Z", "0000-01-01", ""}) {
    INFO(bad);
    CHECK_FALSE(Date::parse(bad).has_value());
  }
}
