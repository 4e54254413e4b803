#include "demo/invoice_stream.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

namespace ib::demo {

namespace {

struct Vendor {
  std::string_view account;
  std::string_view company;
  std::string_view currency;
};

// Accounts with the characters real vendor masters hold.
constexpr std::array<Vendor, 7> kVendors{{
    {"V-1000", "USMF", "USD"},
    {"V-2000/EU", "DEMF", "EUR"},
    {"MÜLLER-01", "DEMF", "EUR"},
    {"O'NEIL & SONS", "GBSI", "GBP"},
    {"東京-07", "JPMF", "JPY"},
    {"V 300", "USMF", "USD"},
    {"ACME#1", "USMF", "USD"},
}};

// The invoice number of the i-th invoice: unique through the counter, whatever casing or
// escaping the dedup key and the OData layer apply.
std::string invoice_number(std::size_t i) {
  char n[32];
  std::snprintf(n, sizeof n, "%06zu", i);
  switch (i % 10) {
    case 0: return std::string("INV-2026-") + n;
    case 1: return std::string("INV/2026/") + n;
    case 2: return std::string("O'Brien ") + n;
    case 3: return std::string("\"Q\"-") + n;
    case 4: return std::string("A&B #") + n;
    case 5: return std::string("100% ") + n;
    case 6: return std::string("Rechnung-Ü-") + n;
    case 7: return std::string("請求書-") + n;
    case 8: return std::string("INV|") + n + "\\x";
    default: return std::string("a/b?c=") + n;
  }
}

std::string money(std::int64_t cents) {
  const bool negative = cents < 0;
  const auto abs = negative ? -cents : cents;
  char out[32];
  std::snprintf(out, sizeof out, "%s%lld.%02lld", negative ? "-" : "", static_cast<long long>(abs / 100),
                static_cast<long long>(abs % 100));
  return out;
}

// The same value as money() in another spelling: a JSON number without trailing zeros.
std::string money_number(std::int64_t cents) {
  std::string text = money(cents);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string quoted(std::string_view s) { return "\"" + log::json_escape(s) + "\""; }

struct Line {
  std::int64_t cents = 0;
  int quantity = 1;
  std::string item;
};

struct Invoice {
  const Vendor* vendor = nullptr;
  std::string number;
  std::string invoice_date;
  std::string due_date;
  std::int64_t cents = 0;
  std::optional<std::int64_t> tax_cents;
  std::vector<Line> lines;
  std::string description;
  std::string po;

  std::string key() const {
    // The dedup key's shape (company|vendor|number); only used to pick the partition.
    return std::string(vendor->company) + "|" + std::string(vendor->account) + "|" + number;
  }

  // `alternate`: a resend by an upstream system: fields in another order, numbers spelt
  // as JSON numbers, lines reversed. The content (fingerprint) is the same.
  std::string json(bool alternate) const {
    std::vector<std::pair<std::string, std::string>> fields;
    fields.emplace_back("vendor_account", quoted(vendor->account));
    fields.emplace_back("invoice_number", quoted(number));
    fields.emplace_back("company", quoted(vendor->company));
    fields.emplace_back("invoice_date", quoted(invoice_date));
    fields.emplace_back("due_date", quoted(due_date));
    fields.emplace_back("currency", quoted(vendor->currency));
    fields.emplace_back("amount", alternate ? money_number(cents) : quoted(money(cents)));
    if (tax_cents) fields.emplace_back("tax", alternate ? money_number(*tax_cents) : quoted(money(*tax_cents)));
    if (!description.empty()) fields.emplace_back("description", quoted(description));
    if (!lines.empty()) {
      std::string array = "[";
      std::vector<Line> ordered = lines;
      if (alternate) std::reverse(ordered.begin(), ordered.end());
      for (std::size_t k = 0; k < ordered.size(); ++k) {
        const auto& l = ordered[k];
        if (k) array += ",";
        array += "{\"item\":" + quoted(l.item) + ",\"quantity\":" + std::to_string(l.quantity) +
                 ",\"amount\":" + (alternate ? money_number(l.cents) : quoted(money(l.cents))) + "}";
      }
      fields.emplace_back("lines", array + "]");
    }
    if (!po.empty()) fields.emplace_back("extra", "{\"po\":" + quoted(po) + ",\"source\":\"demo\"}");
    if (alternate) std::reverse(fields.begin(), fields.end());
    std::string out = "{";
    for (std::size_t k = 0; k < fields.size(); ++k) {
      if (k) out += ",";
      out += "\"" + fields[k].first + "\":" + fields[k].second;
    }
    return out + "}";
  }
};

std::string date(int month, int day) {
  char out[48];
  std::snprintf(out, sizeof out, "2026-%02d-%02d", month, day);
  return out;
}

std::string poison(std::size_t k) {
  const auto n = std::to_string(k);
  switch (k % 7) {
    case 0: return R"({"vendor_account": "V-1000", "invoice_number": "BROKEN-)" + n + R"(", "amount": )";
    case 1:
      return R"({"vendor_account":"V-1000","invoice_number":"NO-AMOUNT-)" + n +
             R"(","company":"USMF","invoice_date":"2026-11-01","currency":"USD"})";
    case 2:
      return "{\"vendor_account\":\"V-1000\",\"invoice_number\":\"\xff\xfe-" + n +
             "\",\"company\":\"USMF\",\"invoice_date\":\"2026-11-01\",\"currency\":\"USD\",\"amount\":1}";
    case 3:
      return R"({"vendor_account":"V-1000","invoice_number":"BAD-TYPE-)" + n +
             R"(","company":"USMF","invoice_date":"2026-11-01","currency":"USD","amount":"abc"})";
    case 4:
      return R"({"vendor_account":"V-1000","invoice_number":"BAD-DATE-)" + n +
             R"(","company":"USMF","invoice_date":"2026-02-30","currency":"USD","amount":10})";
    case 5: return "hello, this is not an invoice " + n;
    default: return "[1,2,3," + n + "]";
  }
}

}  // namespace

InvoiceStream make_stream(const StreamSettings& settings) {
  std::mt19937_64 rng(settings.seed);
  auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const std::size_t n = settings.invoices;
  const auto automatic = [n](std::size_t given, std::size_t lo, std::size_t hi) {
    return given ? given : std::clamp<std::size_t>(n / 500, lo, hi);
  };

  InvoiceStream out;
  out.vendors = kVendors.size();
  out.conflicts = n ? std::min(n, automatic(settings.conflicts, 2, 50)) : 0;
  out.poison_pills = automatic(settings.poison_pills, 5, 50);
  out.duplicates = n ? static_cast<std::size_t>(static_cast<double>(n) * settings.duplicate_percent / 100.0 + 0.5)
                     : 0;

  std::vector<Invoice> invoices(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& inv = invoices[i];
    inv.vendor = &kVendors[static_cast<std::size_t>(uniform(0, kVendors.size() - 1))];
    inv.number = invoice_number(i + 1);
    const int month = static_cast<int>(uniform(10, 11));
    inv.invoice_date = date(month, static_cast<int>(uniform(1, 28)));
    inv.due_date = date(month + 1, static_cast<int>(uniform(1, 28)));
    inv.cents = uniform(1'000, 500'000);
    if (uniform(0, 49) == 0) inv.cents = -inv.cents;  // credit notes
    if (uniform(0, 2) != 0) inv.tax_cents = inv.cents * 19 / 119;
    const auto line_count = uniform(0, 3);
    std::int64_t left = inv.cents;
    for (std::int64_t l = 0; l < line_count; ++l) {
      Line line;
      line.cents = l + 1 == line_count ? left : left / 2;
      left -= line.cents;
      line.quantity = static_cast<int>(uniform(1, 5));
      line.item = "ITEM-" + std::to_string(uniform(1, 40));
      inv.lines.push_back(line);
    }
    if (uniform(0, 3) == 0) inv.description = "Services " + inv.invoice_date.substr(0, 7) + " – naïve café";
    if (uniform(0, 1) == 0) inv.po = "PO-" + std::to_string(uniform(1000, 9999));
    out.expected.push_back({std::string(inv.vendor->account), inv.number, inv.cents});
  }

  // Positions: the i-th original at i; a duplicate right behind its original (the same
  // batch: collapsed in flight) or anywhere later; poison pills anywhere.
  struct Placed {
    double position;
    StreamRecord record;
  };
  std::vector<Placed> placed;
  placed.reserve(n + out.duplicates + out.poison_pills);
  for (std::size_t i = 0; i < n; ++i) placed.push_back({static_cast<double>(i), {invoices[i].key(), invoices[i].json(false)}});
  for (std::size_t d = 0; d < out.duplicates; ++d) {
    const auto j = static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(n) - 1));
    const double at = uniform(0, 3) == 0
                          ? static_cast<double>(j) + 0.5
                          : static_cast<double>(j) + 1.0 +
                                std::uniform_real_distribution<double>(0, static_cast<double>(n - j))(rng);
    placed.push_back({at, {invoices[j].key(), invoices[j].json(true)}});
  }
  for (std::size_t k = 0; k < out.poison_pills; ++k) {
    const double at = std::uniform_real_distribution<double>(0, static_cast<double>(n))(rng);
    placed.push_back({at, {"poison-" + std::to_string(k), poison(k)}});
  }
  std::stable_sort(placed.begin(), placed.end(),
                   [](const Placed& a, const Placed& b) { return a.position < b.position; });
  out.main.reserve(placed.size());
  for (auto& p : placed) out.main.push_back(std::move(p.record));

  // Corrections of booked invoices: another amount, no lines.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t c = 0; c < out.conflicts; ++c) {
    Invoice changed = invoices[order[c]];
    changed.cents += uniform(1, 100) * 100;
    changed.lines.clear();
    changed.description = "corrected";
    out.late.push_back({changed.key(), changed.json(false)});
  }
  return out;
}

}  // namespace ib::demo
