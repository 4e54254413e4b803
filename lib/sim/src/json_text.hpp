#pragma once

// JSON text as Dataverse writes it: like boost::json::serialize, but doubles as the
// shortest exact decimal (`12.5`, where Boost.JSON writes `1.25E1`).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace ib::sim {

std::string dump(const boost::json::value& v);
std::string dump(const boost::json::object& o);

}  // namespace ib::sim
