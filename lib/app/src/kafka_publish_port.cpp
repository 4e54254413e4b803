#include "app/kafka_publish_port.hpp"

#include "kafka/headers.hpp"

#include <algorithm>

namespace ib::app {

namespace {

// The input-topic coordinates: kept from an earlier retry history, else the message's own.
kafka::Origin origin_of(const pipeline::InMessage& m) {
  if (kafka::has_retry_history(m.headers)) {
    if (auto h = kafka::decode_retry(m.headers)) return h->origin;
  }
  return {m.topic, m.partition, m.offset};
}

kafka::ReviewReason to_kafka(pipeline::ReviewReason r) {
  switch (r) {
    case pipeline::ReviewReason::invalid: return kafka::ReviewReason::invalid;
    case pipeline::ReviewReason::conflict: return kafka::ReviewReason::conflict;
    case pipeline::ReviewReason::rejected: return kafka::ReviewReason::rejected;
    case pipeline::ReviewReason::exhausted: return kafka::ReviewReason::exhausted;
  }
  return kafka::ReviewReason::rejected;
}

std::optional<std::string> failure(const kafka::DeliveryReport& report, const std::string& topic) {
  if (report.ok()) return std::nullopt;
  return "produce to " + topic + " failed: " + report.error.message();
}

}  // namespace

boost::asio::awaitable<std::optional<std::string>> KafkaPublishPort::to_retry(
    pipeline::InMessage original, pipeline::RetryRecord record) {
  kafka::RetryHistory history;
  history.attempt = record.next_attempt;
  history.due_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(record.due.time_since_epoch()).count();
  history.last_status = record.last_status;
  history.last_error = record.last_error;
  history.origin = origin_of(original);
  kafka::OutgoingMessage out;
  out.topic = retry_topic_;
  out.key = std::move(original.key);
  out.value = std::move(original.value);
  out.headers = std::move(original.headers);
  kafka::encode_retry(out.headers, history);
  const auto report = co_await producer_.produce(std::move(out));
  co_return failure(report, retry_topic_);
}

boost::asio::awaitable<std::optional<std::string>> KafkaPublishPort::to_review(
    pipeline::InMessage original, pipeline::ReviewRecord record) {
  kafka::ReviewInfo info;
  info.reason = to_kafka(record.reason);
  info.d365_status = record.status;
  info.d365_error = record.body.empty() ? record.error
                                        : record.error.empty() ? record.body
                                                               : record.error + "\n" + record.body;
  info.origin = origin_of(original);
  if (kafka::has_retry_history(original.headers)) {
    if (auto h = kafka::decode_retry(original.headers)) {
      // The history as of the attempt that sent it here: every attempt made, and the
      // last attempt's answer (the retry headers still describe the one before).
      info.retry = *h;
      info.retry->attempt = std::max(record.attempts, h->attempt);
      if (record.status != 0 || !record.error.empty()) {
        info.retry->last_status = record.status;
        info.retry->last_error = record.error;
      }
    }
  }
  // A replayed message keeps its count (its review headers were stripped by the replay).
  info.replay_count = kafka::replay_count(original.headers);
  kafka::OutgoingMessage out;
  out.topic = review_topic_;
  out.key = std::move(original.key);
  out.value = std::move(original.value);
  out.headers = std::move(original.headers);
  kafka::encode_review(out.headers, info);
  const auto report = co_await producer_.produce(std::move(out));
  co_return failure(report, review_topic_);
}

}  // namespace ib::app
