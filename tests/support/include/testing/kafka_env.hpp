#pragma once

#include <string>
#include <string_view>

namespace ib::testing {

/// Bootstrap servers of the real Kafka broker that the ctest fixture `kafka_broker`
/// started (read from $IB_KAFKA_STATE_DIR/bootstrap.txt). Throws with a clear message
/// when the test runs without the fixture.
std::string real_kafka_bootstrap();

/// A topic name unique to this process and call, so tests sharing one broker never
/// see each other's messages.
std::string unique_topic(std::string_view prefix);

}  // namespace ib::testing
