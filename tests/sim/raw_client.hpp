#pragma once

// A tiny blocking HTTP/1.1 client for the simulator's tests. It is deliberately separate
// from lib/http and lib/odata: the simulator is checked against the wire format itself,
// so a misunderstanding shared with our OData client cannot pass both sides.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ib::sim::testing {

struct Reply {
  int status = 0;                              ///< 0 = transport failure (see error)
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::string error;                           ///< transport error text, empty on success
  std::vector<int> interim;                    ///< 1xx statuses received before the answer
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

/// One keep-alive connection to 127.0.0.1:port (https when `tls`, no certificate check
/// unless `ca_file` is given). Reconnects transparently after the server closed it.
class RawClient {
public:
  explicit RawClient(std::uint16_t port, bool tls = false, std::string ca_file = {});
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  Reply request(const std::string& method, const std::string& target, const std::string& body = {},
                const Headers& headers = {});
  Reply get(const std::string& target) { return request("GET", target); }
  /// Number of TCP connections opened so far (keep-alive checks).
  int connects() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One part of a multipart batch response, as found by a naive independent scan.
struct ResponsePart {
  int status = 0;
  std::string content_id;
  bool in_change_set = false;
  std::string body;  ///< inner response body (JSON)
};

/// Splits a multipart/mixed batch response body into its response parts (change set
/// responses flattened, in order). Content-Type gives the boundary.
std::vector<ResponsePart> split_batch(const std::string& content_type, const std::string& body);

/// A multipart/mixed batch body of independent POSTs of `bodies` to `entity_path`
/// (e.g. "/api/data/v9.2/VendorInvoices"), boundary `batch_t`.
std::string batch_of_creates(const std::vector<std::string>& bodies,
                             const std::string& entity_path = "/api/data/v9.2/VendorInvoices");

/// `{"VendorAccount":"<v>","InvoiceNumber":"<n>","Amount":<a>}`
std::string invoice(const std::string& vendor, const std::string& number, double amount = 10.5);

}  // namespace ib::sim::testing
