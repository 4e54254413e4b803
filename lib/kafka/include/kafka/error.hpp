#pragma once

#include <boost/system/error_code.hpp>

namespace ib::kafka {

/// Error category of librdkafka's error codes (RdKafka::ErrorCode / rd_kafka_resp_err_t:
/// negative = client-side, positive = Kafka protocol errors). message() is librdkafka's text.
const boost::system::error_category& error_category();

/// An error_code in error_category() from a librdkafka error code.
boost::system::error_code make_error_code(int rdkafka_error);

/// Codes the module uses without librdkafka types (same numbers as librdkafka).
namespace errc {
inline constexpr int kState = -172;         // RD_KAFKA_RESP_ERR__STATE (e.g. not assigned)
inline constexpr int kTimedOut = -185;      // RD_KAFKA_RESP_ERR__TIMED_OUT
inline constexpr int kQueueFull = -184;     // RD_KAFKA_RESP_ERR__QUEUE_FULL
inline constexpr int kDestroy = -197;       // RD_KAFKA_RESP_ERR__DESTROY (client closing)
inline constexpr int kPurgeQueue = -152;    // RD_KAFKA_RESP_ERR__PURGE_QUEUE
inline constexpr int kMsgTimedOut = -192;   // RD_KAFKA_RESP_ERR__MSG_TIMED_OUT
}  // namespace errc

}  // namespace ib::kafka
