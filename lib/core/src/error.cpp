#include "core/error.hpp"

#include <stdexcept>

namespace ib::core {

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::invalid_argument(e.message);
}

}  // namespace ib::core
