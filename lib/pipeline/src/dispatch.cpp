// Dispatch: batching, AIMD pacing and sending to D365.
#include "pipeline_impl.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace ib::pipeline {

namespace asio = boost::asio;

void Pipeline::Impl::enqueue(const ItemPtr& item) {
  const auto bytes = item->decoded.request_bytes();
  if (auto batch = batcher.add(item, bytes, SteadyClock::now())) closed.push_back(std::move(*batch));
  arm_linger();
}

void Pipeline::Impl::arm_linger() {
  const auto deadline = batcher.deadline();
  if (!deadline || linger_armed) return;
  linger_armed = true;
  linger_timer.expires_at(timer_time(*deadline));
  linger_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->linger_armed = false;
    if (ec || self->failed || self->stopping) return;
    if (auto batch = self->batcher.poll(SteadyClock::now())) {
      self->closed.push_back(std::move(*batch));
    }
    self->arm_linger();
    self->pump();
  });
}

// An unanswered invoice goes back to the batcher after `delay` (counted in the backlog
// meanwhile, so drain() waits for it).
void Pipeline::Impl::resend_later(const ItemPtr& item, std::chrono::milliseconds delay) {
  delayed.emplace(SteadyClock::now() + delay, item);  // equal due times keep their order
  arm_resend();
}

void Pipeline::Impl::arm_resend() {
  if (delayed.empty() || resend_armed || failed || stopping) return;
  resend_armed = true;
  resend_timer.expires_at(timer_time(delayed.begin()->first));
  resend_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->resend_armed = false;
    if (ec || self->failed || self->stopping) return;
    const auto now = SteadyClock::now();
    while (!self->delayed.empty() && self->delayed.begin()->first <= now) {
      auto item = std::move(self->delayed.begin()->second);
      self->delayed.erase(self->delayed.begin());
      self->enqueue(item);  // a revoked item is dropped by pump() like any other
    }
    self->arm_resend();
    self->pump();
  });
}

void Pipeline::Impl::stop_sending() {
  if (stopping) return;
  stopping = true;
  linger_timer.cancel();
  pause_timer.cancel();
  resend_timer.cancel();
  log::info("pipeline stops sending", {{"in_flight", std::to_string(in_flight)},
                                       {"backlog", std::to_string(backlog)}});
}

void Pipeline::Impl::pump() {
  if (failed || stopping) return;
  while (!closed.empty()) {
    const auto now = SteadyClock::now();
    // A batch that settles pumps again, so a pacing limit below in_flight never stalls.
    if (!aimd.may_send(in_flight, now) || in_flight >= pacing.limit(aimd.limit(), now)) {
      if (now < aimd.paused_until() && !pause_armed) {
        pause_armed = true;
        pause_timer.expires_at(timer_time(aimd.paused_until()));
        pause_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
          self->pause_armed = false;
          if (!ec) self->pump();
        });
      }
      return;
    }
    auto batch = std::move(closed.front());
    closed.pop_front();
    // Revoked items are dropped here: not sent, not reported. Their followers from
    // partitions still ours take their place (copies may come from other partitions).
    std::vector<ItemPtr> orphans;
    std::erase_if(batch, [this, &orphans](const ItemPtr& i) {
      if (!i->revoked) return false;
      release(i);
      --backlog;
      for (auto& f : i->followers) {
        if (f->revoked) {
          --backlog;
        } else {
          orphans.push_back(std::move(f));
        }
      }
      i->followers.clear();
      return true;
    });
    if (!orphans.empty()) admit_later(std::move(orphans));
    if (backlog == 0) idle_timer.cancel();
    if (batch.empty()) continue;
    ++in_flight;
    auto self = shared_from_this();
    asio::co_spawn(executor, send_batch(self, std::move(batch)), [self](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->fail(std::string("batch send threw: ") + ex.what());
      }
    });
  }
}

asio::awaitable<void> Pipeline::Impl::send_batch(std::shared_ptr<Impl> self, std::vector<ItemPtr> batch) {
  std::vector<odata::EntityWrite> writes;
  writes.reserve(batch.size());
  for (const auto& i : batch) writes.push_back(i->decoded.write);
  const auto started = SteadyClock::now();
  auto answers = co_await self->parts.sender.send(std::move(writes));
  --self->in_flight;
  if (self->failed) co_return;
  if (answers.size() != batch.size()) {
    // A sender bug must not lose invoices: treat every invoice as not answered.
    log::error("sender returned the wrong number of answers",
               {{"expected", std::to_string(batch.size())},
                {"got", std::to_string(answers.size())}});
    d365::Answer missing;
    missing.outcome = core::AnswerClass::transient;
    missing.error = "no answer from sender";
    answers.assign(batch.size(), missing);
  }
  for (const auto& a : answers) {
    if (a.fatal.empty()) continue;
    // A configuration problem: settling would spend retries on it (or send it to review).
    // Nothing of this batch is done, so its offsets stay uncommitted.
    self->failed_on_configuration = true;
    self->fail("D365 unusable: " + a.fatal);
    co_return;
  }
  if (self->events.batch_answered) {
    self->events.batch_answered(batch.size(), SteadyClock::now() - started, answers);
  }
  self->route_answers(batch, answers);
}

asio::awaitable<bool> Pipeline::Impl::drain(std::chrono::milliseconds limit) {
  if (!batcher.empty()) closed.push_back(batcher.flush());
  pump();
  const auto deadline = SteadyClock::now() + limit;
  // Once stopped, only the batches in flight can still finish.
  auto busy = [this] { return stopping ? in_flight > 0 || publishing > 0 : backlog > 0; };
  while (busy() && !failed && SteadyClock::now() < deadline) {
    idle_timer.expires_at(timer_time(std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(50))));
    co_await idle_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!batcher.empty()) closed.push_back(batcher.flush());
    pump();
  }
  co_return !busy() && !failed;
}

}  // namespace ib::pipeline
