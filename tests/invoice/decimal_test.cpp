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

TEST_CASE("Decimal: at most 38 digits of precision (integer + fraction digits), so scale at most 38") {
  const std::string n38(38, '9'), n39(39, '9');
  const std::string small38 = "0." + std::string(37, '0') + "1", small39 = "0." + std::string(38, '0') + "1";
  const std::pair<std::string, bool> rows[] = {
      {n38, true}, {n39, false}, {"-" + n38, true}, {"-" + n39, false},
      {"0." + n38, true}, {"0." + n39, false}, {"9." + std::string(37, '9'), true}, {"9." + n38, false},
      {small38, true}, {small39, false}, {"1e-38", true}, {"1e-39", false}, {"1e37", true}, {"1e38", false},
      {"000" + n38, true}, {n38.substr(0, 30) + "." + std::string(50, '0'), true},
      {small38 + "000", true}, {"10e36", true}, {"10e37", false},
  };
  for (const auto& [in, ok] : rows) {
    INFO(in);
    CHECK(Decimal::parse(in).has_value() == ok);
  }
}
