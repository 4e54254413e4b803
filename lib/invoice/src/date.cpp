#include "invoice/invoice.hpp"

#include <cstdio>

namespace ib::invoice {

Result<Date> Date::parse(std::string_view s) {
  auto digits = [&](std::size_t from, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  Date d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(0, 4, d.year) || !digits(5, 2, d.month) ||
      !digits(8, 2, d.day))
    return Error{"expected a date yyyy-mm-dd"};
  if (d.year < 1) return Error{"year out of range"};
  if (d.month < 1 || d.month > 12) return Error{"month out of range"};
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
  const int max_day = kDays[d.month - 1] + (d.month == 2 && leap ? 1 : 0);
  if (d.day < 1 || d.day > max_day) return Error{"day out of range"};
  return d;
}

std::string Date::to_string() const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

}  // namespace ib::invoice
