#pragma once

// JSON text as Dataverse writes it: like boost::json::serialize, but doubles as the
// shortest exact decimal (`12.5`, where Boost.JSON writes `1.25E1`), and decimals parsed by
// parse_exact() written back as the text they came in (D365 stores Edm.Decimal exactly:
// `12345678901234567890.123456789` must not come back as `1.2345678901234568e+19`).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace ib::sim {

std::string dump(const boost::json::value& v);
std::string dump(const boost::json::object& o);

/// Parses one JSON document like boost::json::parse, except that a number with a fraction
/// or exponent, or an integer beyond 64 bits, is kept as its exact text (a raw number, see
/// below) instead of a double. Integers that fit int64/uint64 stay integers. An object key
/// equal to the internal raw-number marker is refused (`ec` set).
boost::json::value parse_exact(std::string_view text, boost::system::error_code& ec);

/// True when `v` is a raw number made by parse_exact().
bool is_raw_number(const boost::json::value& v) noexcept;
/// The exact text of a raw number (`12345678901234567890.123456789`); empty for any other value.
std::string_view raw_number_text(const boost::json::value& v) noexcept;
/// A raw number as a double value (for comparisons, e.g. `$filter`); `v` itself otherwise.
boost::json::value numeric_view(const boost::json::value& v);

}  // namespace ib::sim
