#pragma once

#include "core/outcome.hpp"

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ib::dedup {

/// What to do with a decoded invoice before any API call: the dedup decision.
enum class Admission {
  send,       ///< absent: mark pending, then send
  resend,     ///< pending with the same content (an earlier attempt): send again; a duplicate answer means it had landed
  duplicate,  ///< imported with the same content: an upstream duplicate, no API call
  conflict,   ///< imported or pending with different content: manual review with both versions
};

/// The admission rule (ARCHITECTURE.md invariants 2 and 6). `stored_fingerprint` is the
/// fingerprint kept with the store entry (ignored when absent).
///
/// `replayed`: an operator put this message back on the input topic from manual review
/// (`invoice-bridge review replay`, header `ib-replay-count` > 0) after fixing its cause.
/// The store's `imported` verdict is then ignored and the invoice is sent again: the
/// replay tool forgets the store entry itself when it can open the store, but while a
/// daemon holds the store only the daemon can honour the replay. Nothing is created
/// twice: D365's alternate key refuses a second create, and that answer counts as a
/// duplicate. A pending entry stays `resend` (it already means "send again").
/// Pure; table-tested.
Admission admit(core::StoreState state, std::string_view stored_fingerprint,
                std::string_view fingerprint, bool replayed = false);

/// One copy of an invoice (one dedup key) as judge_copies() sees it.
struct Copy {
  std::string_view fingerprint;
  bool replayed = false;  ///< see admit()
};

/// What happens to one copy of a key among the copies consumed together.
enum class Verdict {
  lead,                     ///< admitted to send (admit: send / resend); the first such copy
  follow,                   ///< same content as the lead: not sent, settled with the lead (a duplicate)
  duplicate,                ///< same content as the imported version: no API call
  conflict_with_stored,     ///< differs from the imported or pending version: review, beside the stored one
  conflict_with_in_flight,  ///< admitted by the store, but differs from the lead: review, beside the lead
};

/// Judges every copy of one key, in order: against the stored version first, then against
/// the version in flight (one send per key at a time; ARCHITECTURE.md invariants 2 and 6).
/// For each copy c, first match wins:
///   1. a lead exists and c has its fingerprint     → follow
///   2. admit(state, stored, c) is duplicate        → duplicate
///   3. admit(state, stored, c) is conflict         → conflict_with_stored
///   4. admit is send / resend, no lead yet         → lead (c is the lead from now on)
///   5. admit is send / resend, a lead exists       → conflict_with_in_flight
/// `in_flight`: the fingerprint of a copy of this key admitted earlier and still queued or
/// in flight; it is the lead, so no copy here becomes one. A copy of the stored version is
/// thus a duplicate even while another (replayed) version is in flight, and a copy of the
/// in-flight version follows it even when the store still holds another imported version
/// (a replay over an imported entry leaves the entry imported until its answer).
/// Returns one verdict per copy, in order. Pure; table-tested.
std::vector<Verdict> judge_copies(core::StoreState state, std::string_view stored_fingerprint,
                                  std::span<const Copy> copies,
                                  std::optional<std::string_view> in_flight = std::nullopt);

}  // namespace ib::dedup
