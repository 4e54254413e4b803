#pragma once

#include "core/outcome.hpp"

#include <string_view>

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

}  // namespace ib::dedup
