#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::odata {

/// Why a request could not be encoded, in one line.
struct Error {
  std::string message;
};

/// result<T>::value() on an error throws std::invalid_argument with the message (found by ADL).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

/// Header fields in order, names as sent (compare names case-insensitively).
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The value of the first header called `name` (ASCII case-insensitive), or nullopt.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

}  // namespace ib::odata
