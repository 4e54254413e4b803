#pragma once

namespace ib::invoice {

/// Routes libprotobuf's own log lines (GOOGLE_LOG: parse errors, descriptor problems)
/// through ib::log, so they come out in the process's log format (JSON included) instead of
/// raw on stderr: protobuf INFO -> info, WARNING -> warn, ERROR -> error, FATAL -> critical,
/// with the fields `source=libprotobuf` and `file` (`name.cc:line`). Process-wide; call once
/// at startup (calling it again is harmless). Thread-safe once installed.
void route_protobuf_logs();

}  // namespace ib::invoice
