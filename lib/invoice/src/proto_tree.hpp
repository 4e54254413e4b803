#pragma once

// ib.proto.Invoice -> the JSON tree the field decoder reads, so both formats share one
// set of rules and messages. Empty proto3 strings become absent members.

#include "json_tree.hpp"

namespace ib::invoice::detail {

Result<JNode> protobuf_tree(std::string_view payload);

}  // namespace ib::invoice::detail
