#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace ib::invoice {

/// Why an input was refused: one line that names the field (`lines[2].amount: missing`).
struct Error {
  std::string message;
};

/// result<T>::value() on an error throws std::invalid_argument with the message (found by ADL).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

/// The value, or why there is none. Decoding never throws on bad input; it returns this.
template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace ib::invoice
