#pragma once

#include "core/error.hpp"

namespace ib::invoice {

// Why an input was refused: core::Error, one line that names the field
// (`lines[2].amount: missing`). Decoding never throws on bad input; it returns a Result.
using core::Error;
using core::Result;

}  // namespace ib::invoice
