#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ib::demo {

/// How the demo's input is made. Same settings and seed = the same stream, byte for byte.
struct StreamSettings {
  /// Distinct valid invoices (each must end up created in D365 exactly once).
  std::size_t invoices = 5000;
  /// Upstream duplicates (same key and content, spelt differently), percent of `invoices`.
  double duplicate_percent = 10;
  /// Conflicting copies (same key, another amount); 0 = automatic (invoices / 500, 2..50).
  std::size_t conflicts = 0;
  /// Poison pills (not JSON, missing fields, bad UTF-8...); 0 = automatic (invoices / 500, 5..50).
  std::size_t poison_pills = 0;
  std::uint64_t seed = 1;
};

/// One Kafka record to produce: key (the dedup key, so every copy of an invoice lands in
/// one partition) and value (the invoice JSON, or garbage for a poison pill).
struct StreamRecord {
  std::string key;
  std::string value;
};

/// A distinct valid invoice as D365 must hold it after the run.
struct ExpectedInvoice {
  std::string vendor_account;  ///< alternate key value 1 (`VendorAccount`)
  std::string invoice_number;  ///< alternate key value 2 (`InvoiceNumber`)
  std::int64_t amount_cents = 0;  ///< the first version's amount; a conflict must not replace it
};

/// The generated input and what it must lead to.
struct InvoiceStream {
  /// Produced first: originals, upstream duplicates (some right behind their original,
  /// most later) and poison pills, interleaved.
  std::vector<StreamRecord> main;
  /// Produced once every message of `main` has its outcome: corrected re-sends with another
  /// amount (conflicts), as a vendor's correction arrives after the original was booked.
  std::vector<StreamRecord> late;
  std::vector<ExpectedInvoice> expected;
  std::size_t duplicates = 0;    ///< upstream duplicates in `main`
  std::size_t conflicts = 0;     ///< records in `late`
  std::size_t poison_pills = 0;  ///< invalid records in `main`
  std::size_t vendors = 0;

  std::size_t total() const { return main.size() + late.size(); }
};

/// Builds the stream: several vendors, invoice numbers with awkward characters (quotes,
/// slashes, spaces, `&`, `#`, `%`, `'`, `|`, non-ASCII), amounts in cents, optional lines,
/// tax and free fields. Pure and deterministic for `settings`.
InvoiceStream make_stream(const StreamSettings& settings);

}  // namespace ib::demo
