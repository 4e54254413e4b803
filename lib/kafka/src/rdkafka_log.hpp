// librdkafka's own log lines through ib::log (private to lib/kafka).
#pragma once

#include <librdkafka/rdkafka.h>

namespace ib::kafka::detail {

/// Sets `conf`'s log_cb so that every line librdkafka logs for the client made from it goes
/// through ib::log (the process's format, JSON included) instead of raw to stderr, at the
/// matching level (syslog 0-2 critical, 3 error, 4 warn, 5-6 info, 7 debug), with the
/// fields `source=librdkafka`, `facility` and `client`. Set it on every conf before
/// rd_kafka_new(); the C++ API's conf through Conf::c_ptr_global(). The callback runs on
/// librdkafka's threads and never throws.
void route_logs(rd_kafka_conf_t* conf);

}  // namespace ib::kafka::detail
