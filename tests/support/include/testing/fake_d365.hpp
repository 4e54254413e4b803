#pragma once

// The test doubles of the D365 side, one per interface: d365::InvoiceCodec and
// d365::Sender. Unit tests of the pipeline and of `import` use them; integration tests use
// the real codec and d365::BatchClient against the simulator.

#include "d365/invoice_codec.hpp"
#include "d365/sender.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ib::testing {

/// Decodes `key|fingerprint` payloads (the fingerprint follows the last '|': keys may hold
/// '|' too). A payload starting with "BAD" or without '|' is invalid ("not an invoice: ...").
/// The entity write's body is the dedup key, so a fake sender can tell invoices apart.
class PipeCodec final : public d365::InvoiceCodec {
public:
  /// Payloads decoded so far (any thread).
  mutable std::atomic<int> decoded{0};
  /// Also counted here when set (a counter that outlives the codec).
  std::atomic<int>* also_count = nullptr;

  core::Result<d365::DecodedInvoice> decode(std::string_view payload) const override {
    ++decoded;
    if (also_count != nullptr) ++*also_count;
    const auto bar = payload.rfind('|');
    if (payload.rfind("BAD", 0) == 0 || bar == std::string_view::npos) {
      return core::Error{"not an invoice: " + std::string(payload)};
    }
    d365::DecodedInvoice d;
    d.dedup_key = std::string(payload.substr(0, bar));
    d.fingerprint = std::string(payload.substr(bar + 1));
    d.write.entity_set = "invoices";
    d.write.body = d.dedup_key;
    return d;
  }
};

/// `n` Dataverse-style creates of vendor invoices INV-1..INV-n of vendor V1, for tests of
/// the real BatchClient against a server.
inline std::vector<odata::EntityWrite> writes(int n) {
  std::vector<odata::EntityWrite> out;
  for (int i = 0; i < n; ++i) {
    const auto number = "INV-" + std::to_string(i + 1);
    out.push_back({"VendorInvoices", {{"VendorAccount", "V1"}, {"InvoiceNumber", number}},
                   R"({"VendorAccount":"V1","InvoiceNumber":")" + number + R"(","Amount":10})"});
  }
  return out;
}

/// An answer of `outcome` with `status`; throttled answers carry `retry_after`.
inline d365::Answer answer(core::AnswerClass outcome, int status, std::string error = {},
                           std::optional<std::chrono::milliseconds> retry_after = std::chrono::milliseconds(0)) {
  d365::Answer a;
  a.outcome = outcome;
  a.status = status;
  a.error = error.empty() ? "status " + std::to_string(status) : std::move(error);
  if (outcome != core::AnswerClass::created) a.body = R"({"error":{"code":"x"}})";
  if (outcome == core::AnswerClass::throttled) a.retry_after = retry_after;
  return a;
}

/// Answers each invoice (by its dedup key, the write's body as PipeCodec makes it) with
/// the next scripted answer for that key: the n-th send of a key gets script[key][n]; past
/// the end of a key's script it is created (204, record id "id-<key>"), or with
/// `repeat_last` the script's last answer again. Yields once per call so that several
/// batches are in flight together. Runs on the caller's executor.
class ScriptedSender : public d365::Sender {
public:
  std::map<std::string, std::vector<d365::Answer>> script;
  bool repeat_last = false;
  std::map<std::string, int> sends;                 ///< per key
  std::vector<std::vector<std::string>> batches;    ///< keys of every call, in order
  int in_flight = 0;
  int max_in_flight_seen = 0;
  /// When set, answers the batch as a whole (wrong answer counts and the like).
  std::function<std::vector<d365::Answer>(const std::vector<std::string>&)> whole;
  /// A batch holding one of these keys waits on `gate` (created then) until the test
  /// cancels it: an answer that takes as long as the test wants.
  std::set<std::string> slow;
  std::unique_ptr<boost::asio::steady_timer> gate;

  /// Every key sent, in order.
  std::vector<std::string> sent() const {
    std::vector<std::string> out;
    for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
  }

  boost::asio::awaitable<std::vector<d365::Answer>> send(std::vector<odata::EntityWrite> writes) override {
    max_in_flight_seen = std::max(max_in_flight_seen, ++in_flight);
    std::vector<std::string> keys;
    keys.reserve(writes.size());
    for (const auto& w : writes) keys.push_back(w.body);
    batches.push_back(keys);
    auto executor = co_await boost::asio::this_coro::executor;
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
    if (std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return slow.count(k) != 0; })) {
      gate = std::make_unique<boost::asio::steady_timer>(executor, std::chrono::hours(1));
      co_await gate->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    std::vector<d365::Answer> out;
    if (whole) {
      out = whole(keys);
    } else {
      for (const auto& k : keys) {
        const auto n = static_cast<std::size_t>(sends[k]++);
        auto it = script.find(k);
        if (it != script.end() && !it->second.empty() && (n < it->second.size() || repeat_last)) {
          out.push_back(it->second[std::min(n, it->second.size() - 1)]);
        } else {
          d365::Answer created;
          created.outcome = core::AnswerClass::created;
          created.status = 204;
          created.record_id = "id-" + k;
          out.push_back(created);
        }
      }
    }
    --in_flight;
    co_return out;
  }
};

}  // namespace ib::testing
