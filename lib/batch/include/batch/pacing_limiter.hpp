#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ib::batch {

/// What one HTTP answer of D365 said about pacing (every field absent when its header was).
struct PacingSignal {
  /// `x-ms-dop-hint`: the recommended degree of parallelism for the environment.
  std::optional<int> dop_hint;
  /// `x-ms-ratelimit-burst-remaining-xrm-requests`: requests left in the window.
  std::optional<std::uint64_t> requests_remaining;
  /// `x-ms-ratelimit-time-remaining-xrm-requests`: execution time left in the window, s.
  std::optional<double> time_remaining_s;
};

/// How D365's answers bound the batches in flight (`send.` keys, docs/configuration.md).
struct PacingConfig {
  /// Members (daemons, imports) sending as the same application user: the dop hint is
  /// per user, so each member takes hint / members (at least 1).
  int members_sharing_user = 1;
  /// Follow `x-ms-dop-hint` (false: ignore it; the configured max_in_flight alone caps).
  bool honour_dop_hint = true;
  /// Below this many remaining requests the limit falls in proportion, down to 1 at 0.
  /// 0 = ignore the header.
  std::uint64_t low_requests_remaining = 300;
  /// Below this much remaining execution time (seconds) the limit falls in proportion,
  /// down to 1 at 0. 0 = ignore the header.
  double low_time_remaining_s = 60;
  /// A signal older than this is forgotten (the service protection window, 5 minutes).
  std::chrono::milliseconds signal_ttl{300'000};

  std::vector<std::string> validate() const;
};

/// The in-flight bound that D365's own answers impose, on top of the configured
/// max_in_flight and AIMD (AimdLimiter): min(cap, dop hint / members sharing the user),
/// reduced in proportion while the remaining requests or execution time of the window are
/// below their low marks. With no signal (no headers, or none for signal_ttl) it imposes
/// nothing, so AIMD alone paces. A member that shares the user (members_sharing_user > 1)
/// starts with one batch in flight until the first answer, so N members starting together
/// do not send N x max_in_flight before any of them has seen the hint.
/// Pure: the caller supplies the time. Not thread-safe.
class PacingLimiter {
public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit PacingLimiter(PacingConfig config);

  /// An answer came at `now` (an HTTP answer's signal; a call without one, e.g. a transport
  /// failure, passes an empty signal and only ends the start probe).
  void on_answer(const PacingSignal& signal, TimePoint now);
  /// The in-flight limit at `now` given `cap` (the configured / AIMD limit); at least 1.
  int limit(int cap, TimePoint now) const;

  /// The last signal, while not older than signal_ttl (for metrics).
  std::optional<PacingSignal> signal(TimePoint now) const;

private:
  PacingConfig config_;
  bool answered_ = false;
  std::optional<PacingSignal> last_;
  TimePoint last_at_{};
};

}  // namespace ib::batch
