#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace ib::core {

/// Why an operation on input failed, in one line that names what was wrong
/// (`lines[2].amount: missing`, `header ib-attempt is not an integer ...`).
struct Error {
  std::string message;
};

/// result<T>::value() on an error throws std::invalid_argument with the message (found by ADL).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

/// The value, or why there is none. Parsers never throw on bad input; they return this.
template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace ib::core
