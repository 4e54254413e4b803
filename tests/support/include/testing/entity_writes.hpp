#pragma once

// `n` VendorInvoices creates for the d365 sender tests: vendor V1, INV-0 ... INV-<n-1>,
// keyed by VendorAccount + InvoiceNumber, Amount 10.

#include "odata/batch_writer.hpp"

#include <string>
#include <vector>

namespace ib::testing {

inline std::vector<odata::EntityWrite> invoice_writes(int n) {
  std::vector<odata::EntityWrite> out;
  for (int i = 0; i < n; ++i) {
    const auto number = "INV-" + std::to_string(i);
    out.push_back({"VendorInvoices", {{"VendorAccount", "V1"}, {"InvoiceNumber", number}},
                   R"({"VendorAccount":"V1","InvoiceNumber":")" + number + R"(","Amount":10})"});
  }
  return out;
}

}  // namespace ib::testing
