#include "pipeline/pipeline.hpp"

#include "pipeline_impl.hpp"

#include "odata/batch_config.hpp"

#include <algorithm>

namespace ib::pipeline {

void PipelineConfig::load(config::ConfigSource& s) {
  std::uint64_t max_items = batch.max_items, max_bytes = batch.max_bytes;
  s.read("batch.max_items", max_items);
  s.read_bytes("batch.max_bytes", max_bytes);
  batch.max_items = max_items;
  batch.max_bytes = max_bytes;
  s.read("batch.linger", batch.linger);
  s.read("send.max_in_flight", aimd.max_in_flight);
  s.read("send.min_in_flight", aimd.min_in_flight);
  s.read("send.increase_every", aimd.increase_every);
  s.read("send.decrease_factor", aimd.decrease_factor);
  std::int64_t members = pacing.members_sharing_user;
  s.read("send.members_sharing_user", members);
  pacing.members_sharing_user = static_cast<int>(std::clamp<std::int64_t>(members, -1, 1'000'000));
  s.read("send.honour_dop_hint", pacing.honour_dop_hint);
  s.read("send.low_requests_remaining", pacing.low_requests_remaining);
  s.read("send.low_time_remaining", pacing.low_time_remaining_s);
  s.read("send.pacing_signal_ttl", pacing.signal_ttl);
  // Retry-After is defaulted and capped where answers are classified (d365.classify.*).
  s.reject_removed("send.default_retry_after", "d365.classify.default_retry_after");
  s.reject_removed("send.max_retry_after", "d365.classify.max_retry_after");
  s.read("retry.max_attempts", backoff.max_attempts);
  s.read("retry.initial", backoff.initial);
  s.read("retry.multiplier", backoff.multiplier);
  s.read("retry.max_delay", backoff.max_delay);
  s.read("retry.jitter", backoff.jitter);
  s.read("retry.max_resends", max_resends);
}

std::vector<std::string> PipelineConfig::validate() const {
  // A batch goes out as one $batch: D365's limit per request bounds its size.
  std::vector<std::string> problems = batch.validate(odata::kMaxBatchRequests);
  for (auto& p : aimd.validate()) problems.push_back("send." + p);
  for (auto& p : pacing.validate()) problems.push_back("send." + p);
  for (auto& p : backoff.validate()) problems.push_back("retry." + p);
  if (max_resends < 0) problems.push_back("retry.max_resends must be >= 0");
  if (max_throttled_resends < 0) problems.push_back("import --max-throttled must be >= 0");
  return problems;
}

Pipeline::Pipeline(boost::asio::any_io_executor executor, PipelineConfig config, PipelineParts parts,
                   PipelineEvents events, std::optional<std::uint64_t> seed)
    : impl_(std::make_shared<Impl>(executor, std::move(config), parts, std::move(events), seed)) {}

Pipeline::~Pipeline() {
  impl_->failed = true;  // no more callbacks into a driver that is going away
  impl_->linger_timer.cancel();
  impl_->pause_timer.cancel();
  impl_->idle_timer.cancel();
  impl_->resend_timer.cancel();
}

void Pipeline::submit(std::vector<InMessage> messages) { impl_->submit(std::move(messages)); }
void Pipeline::revoke(const std::string& topic, std::int32_t partition) {
  impl_->revoke(topic, partition);
}
std::size_t Pipeline::backlog() const { return impl_->backlog; }
int Pipeline::in_flight() const { return impl_->in_flight; }
int Pipeline::in_flight_limit() const {
  return impl_->pacing.limit(impl_->aimd.limit(), Impl::SteadyClock::now());
}
bool Pipeline::failed() const { return impl_->failed; }
void Pipeline::changelog_owned(std::int32_t partition, bool owned) {
  if (owned) {
    impl_->owned_partitions.insert(partition);
  } else {
    impl_->owned_partitions.erase(partition);
    impl_->acked_checkpoints.erase(partition);
  }
}
void Pipeline::stop_sending() { impl_->stop_sending(); }
bool Pipeline::failed_on_configuration() const { return impl_->failed_on_configuration; }
boost::asio::awaitable<bool> Pipeline::drain(std::chrono::milliseconds limit) {
  auto self = impl_;  // the state outlives the wait even if the Pipeline goes first
  co_return co_await self->drain(limit);
}

}  // namespace ib::pipeline
