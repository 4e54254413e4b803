#include "invoice/protobuf_log.hpp"

#include "core/log.hpp"

#include <google/protobuf/stubs/logging.h>

#include <string>

namespace ib::invoice {
namespace {

void handler(google::protobuf::LogLevel level, const char* filename, int line,
             const std::string& message) {
  log::Level l = log::Level::info;
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO: l = log::Level::info; break;
    case google::protobuf::LOGLEVEL_WARNING: l = log::Level::warn; break;
    case google::protobuf::LOGLEVEL_ERROR: l = log::Level::error; break;
    case google::protobuf::LOGLEVEL_FATAL: l = log::Level::critical; break;
  }
  const std::string where = std::string(filename != nullptr ? filename : "?") + ":" + std::to_string(line);
  log::write(l, message, {{"source", "libprotobuf"}, {"file", where}});
}

}  // namespace

void route_protobuf_logs() { google::protobuf::SetLogHandler(&handler); }

}  // namespace ib::invoice
