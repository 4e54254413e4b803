#include "testing/fake_consumer.hpp"

#include "kafka/error.hpp"

namespace ib::testing {

void FakeConsumer::assign(const std::vector<kafka::TopicPartition>& partitions) {
  {
    std::lock_guard lock(mutex_);
    assigned_.insert(partitions.begin(), partitions.end());
  }
  queue_.push(kafka::RebalanceEvent{kafka::RebalanceEvent::Kind::assigned, partitions});
}

void FakeConsumer::revoke(const std::vector<kafka::TopicPartition>& partitions, bool lost) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& tp : partitions) {
      assigned_.erase(tp);
      paused_.erase(tp);
      if (const auto it = stored_.find(tp); it != stored_.end()) {
        if (!lost) committed_[tp] = it->second;
        stored_.erase(it);
      }
    }
  }
  queue_.drop_messages({partitions.begin(), partitions.end()});
  using Kind = kafka::RebalanceEvent::Kind;
  queue_.push(kafka::RebalanceEvent{lost ? Kind::lost : Kind::revoked, partitions});
}

void FakeConsumer::deliver(kafka::Message message) { queue_.push(std::move(message)); }

void FakeConsumer::push_error(kafka::ConsumerError error) { queue_.push(std::move(error)); }

void FakeConsumer::fail_commits(int count, int code) {
  std::lock_guard lock(mutex_);
  failing_commits_ = count;
  failing_code_ = code;
}

std::map<kafka::TopicPartition, std::int64_t> FakeConsumer::stored() const {
  std::lock_guard lock(mutex_);
  return stored_;
}

std::map<kafka::TopicPartition, std::int64_t> FakeConsumer::committed_offsets() const {
  std::lock_guard lock(mutex_);
  return committed_;
}

std::set<kafka::TopicPartition> FakeConsumer::paused() const {
  std::lock_guard lock(mutex_);
  return paused_;
}

std::vector<std::pair<kafka::TopicPartition, std::int64_t>> FakeConsumer::seeks() const {
  std::lock_guard lock(mutex_);
  return seeks_;
}

bool FakeConsumer::is_closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

boost::asio::awaitable<std::vector<kafka::ConsumerEvent>> FakeConsumer::next(
    std::size_t max, std::chrono::milliseconds max_wait) {
  return queue_.next(max, max_wait);
}

std::vector<kafka::ConsumerEvent> FakeConsumer::try_next(std::size_t max) { return queue_.take(max); }

void FakeConsumer::wake() { queue_.wake(); }

boost::system::result<void> FakeConsumer::store_offset(const kafka::TopicPartition& tp,
                                                       std::int64_t next_offset) {
  std::lock_guard lock(mutex_);
  if (assigned_.count(tp) == 0) return kafka::make_error_code(kafka::errc::kState);
  stored_[tp] = next_offset;
  return {};
}

boost::system::result<void> FakeConsumer::commit() {
  std::lock_guard lock(mutex_);
  if (failing_commits_ > 0) {
    --failing_commits_;
    return kafka::make_error_code(failing_code_);
  }
  for (const auto& [tp, offset] : stored_) committed_[tp] = offset;
  return {};
}

boost::system::result<std::vector<kafka::PartitionOffset>> FakeConsumer::committed(
    const std::vector<kafka::TopicPartition>& partitions, std::chrono::milliseconds) {
  std::lock_guard lock(mutex_);
  std::vector<kafka::PartitionOffset> out;
  for (const auto& tp : partitions) {
    const auto it = committed_.find(tp);
    out.push_back({tp, it == committed_.end() ? -1 : it->second});
  }
  return out;
}

void FakeConsumer::pause(const std::vector<kafka::TopicPartition>& partitions) {
  std::lock_guard lock(mutex_);
  paused_.insert(partitions.begin(), partitions.end());
}

void FakeConsumer::resume(const std::vector<kafka::TopicPartition>& partitions) {
  std::lock_guard lock(mutex_);
  for (const auto& tp : partitions) paused_.erase(tp);
}

boost::system::result<void> FakeConsumer::seek(const kafka::TopicPartition& tp, std::int64_t offset) {
  queue_.drop_messages({tp});
  std::lock_guard lock(mutex_);
  seeks_.emplace_back(tp, offset);
  return {};
}

std::vector<kafka::TopicPartition> FakeConsumer::assignment() const {
  std::lock_guard lock(mutex_);
  return {assigned_.begin(), assigned_.end()};
}

std::vector<kafka::PartitionLag> FakeConsumer::lag() const {
  std::vector<kafka::PartitionLag> out;
  for (const auto& tp : assignment()) out.push_back(kafka::PartitionLag{tp, -1, -1, -1});
  return out;
}

std::size_t FakeConsumer::queued() const { return queue_.size(); }

void FakeConsumer::close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (const auto& [tp, offset] : stored_) committed_[tp] = offset;
  }
  queue_.close();
}

}  // namespace ib::testing
