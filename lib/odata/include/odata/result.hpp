#pragma once

#include "core/error.hpp"
#include "core/headers.hpp"

namespace ib::odata {

// The OData layer speaks core's vocabulary: one error type (a request that cannot be
// encoded, a response that cannot be read) and one header list.
using core::Error;
using core::Result;
using core::Headers;
using core::find_header;

}  // namespace ib::odata
