#include "kafka/event_queue.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>
#include <utility>

namespace ib::kafka {

namespace asio = boost::asio;

void EventQueue::push(ConsumerEvent event) {
  std::unique_lock lock(mutex_);
  events_.push_back(std::move(event));
  notify(lock);
}

void EventQueue::notify(std::unique_lock<std::mutex>& lock) {
  // Post and release the waiter under the lock: the reader clears waiter_ under the same
  // lock before next() returns, so its executor is alive while we post to it, and the
  // timer is never destroyed on this thread after the reader's io_context is gone.
  if (auto waiter = std::exchange(waiter_, nullptr)) waiter();
  lock.unlock();
}

std::vector<ConsumerEvent> EventQueue::take(std::size_t max) {
  std::lock_guard lock(mutex_);
  std::vector<ConsumerEvent> out;
  const auto n = std::min(max, events_.size());
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (const auto* m = std::get_if<Message>(&events_.front())) {
      auto& end = taken_end_[m->topic_partition()];
      end = std::max(end, m->offset + 1);
    }
    out.push_back(std::move(events_.front()));
    events_.pop_front();
  }
  return out;
}

asio::awaitable<std::vector<ConsumerEvent>> EventQueue::next(
    std::size_t max, std::chrono::milliseconds max_wait) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, max_wait);
  {
    std::lock_guard lock(mutex_);
    if (!events_.empty() || closed_ || std::exchange(woken_, false)) {
      timer.reset();
    } else {
      // Runs on whichever thread pushes, under mutex_; the timer is touched only on the
      // reader's executor. The cancel cannot overtake the async_wait below: the reader's
      // (single-threaded) executor runs it only after this coroutine has suspended.
      waiter_ = [timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); };
    }
  }
  if (timer) {
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(mutex_);
    waiter_ = nullptr;
    woken_ = false;
  }
  co_return take(max);
}

std::size_t EventQueue::drop_messages(const std::set<TopicPartition>& partitions) {
  std::lock_guard lock(mutex_);
  const auto before = events_.size();
  std::erase_if(events_, [&](const ConsumerEvent& e) {
    const auto* m = std::get_if<Message>(&e);
    return m != nullptr && partitions.count(m->topic_partition()) != 0;
  });
  return before - events_.size();
}

std::int64_t EventQueue::taken_end(const TopicPartition& tp) const {
  std::lock_guard lock(mutex_);
  const auto it = taken_end_.find(tp);
  return it == taken_end_.end() ? 0 : it->second;
}

void EventQueue::forget_taken(const std::set<TopicPartition>& partitions) {
  std::lock_guard lock(mutex_);
  for (const auto& tp : partitions) taken_end_.erase(tp);
}

void EventQueue::wake() {
  std::unique_lock lock(mutex_);
  if (!waiter_) woken_ = true;
  notify(lock);
}

void EventQueue::close() {
  std::unique_lock lock(mutex_);
  closed_ = true;
  notify(lock);
}

bool EventQueue::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t EventQueue::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

}  // namespace ib::kafka
