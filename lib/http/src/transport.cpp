#include "http/transport.hpp"

#include <ostream>
#include <stdexcept>

namespace ib::http {

std::string_view to_string(TransportError error) {
  switch (error) {
    case TransportError::invalid_request: return "invalid_request";
    case TransportError::resolve_failed: return "resolve_failed";
    case TransportError::connect_failed: return "connect_failed";
    case TransportError::tls_failed: return "tls_failed";
    case TransportError::tls_verify_failed: return "tls_verify_failed";
    case TransportError::timeout: return "timeout";
    case TransportError::connection_reset: return "connection_reset";
    case TransportError::protocol_error: return "protocol_error";
    case TransportError::body_too_large: return "body_too_large";
    case TransportError::auth_unavailable: return "auth_unavailable";
    case TransportError::auth_rejected: return "auth_rejected";
    case TransportError::shutdown: return "shutdown";
  }
  return "unknown";
}

bool is_transient(TransportError error) {
  switch (error) {
    case TransportError::resolve_failed:
    case TransportError::connect_failed:
    case TransportError::timeout:
    case TransportError::connection_reset:
    case TransportError::auth_unavailable:
      return true;
    case TransportError::invalid_request:
    case TransportError::tls_failed:
    case TransportError::tls_verify_failed:
    case TransportError::protocol_error:
    case TransportError::body_too_large:
    case TransportError::auth_rejected:
    case TransportError::shutdown:
      return false;
  }
  return false;
}

std::string to_string(const Failure& failure) {
  std::string out(to_string(failure.code));
  if (!failure.message.empty()) {
    out += ": ";
    out += failure.message;
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Response& response) {
  return out << "HTTP " << response.status << " (" << response.body.size() << " body bytes)";
}

std::ostream& operator<<(std::ostream& out, const Failure& failure) { return out << to_string(failure); }

void throw_exception_from_error(const Failure& failure, const boost::source_location&) {
  throw std::runtime_error(to_string(failure));
}

}  // namespace ib::http
