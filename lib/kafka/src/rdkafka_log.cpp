#include "rdkafka_log.hpp"

#include "core/log.hpp"

#include <string_view>

namespace ib::kafka::detail {
namespace {

log::Level level_of(int syslog_level) {
  if (syslog_level <= 2) return log::Level::critical;  // emerg, alert, crit
  if (syslog_level == 3) return log::Level::error;
  if (syslog_level == 4) return log::Level::warn;
  if (syslog_level <= 6) return log::Level::info;  // notice, info
  return log::Level::debug;
}

void log_cb(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  // rk is the client (its name: rdkafka#consumer-1); librdkafka passes it even during
  // rd_kafka_new(), but be defensive.
  const char* client = rk != nullptr ? rd_kafka_name(rk) : "";
  log::write(level_of(level), text != nullptr ? std::string_view(text) : std::string_view(),
             {{"source", "librdkafka"},
              {"facility", facility != nullptr ? facility : ""},
              {"client", client != nullptr ? client : ""}});
}

}  // namespace

void route_logs(rd_kafka_conf_t* conf) {
  if (conf != nullptr) rd_kafka_conf_set_log_cb(conf, &log_cb);
}

}  // namespace ib::kafka::detail
