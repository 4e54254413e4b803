#pragma once

// A small JSON tree that keeps numbers as their source text (exact decimals) and object
// members in order with duplicates visible. Internal to ib::invoice.

#include "invoice/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ib::invoice::detail {

struct JMember;

struct JNode {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  ///< string value, or the number as written
  std::vector<JNode> items;
  // A vector of a still incomplete element type is allowed (C++17); a std::pair of JNode
  // inside JNode is not (clang rejects it), hence the named member type.
  std::vector<JMember> members;
};

/// One object member: its key as written and its value.
struct JMember {
  std::string key;
  JNode value;
};

/// Parses strict JSON (no comments, no trailing commas, valid UTF-8, depth <= max_depth).
Result<JNode> parse_json_tree(std::string_view text, std::size_t max_depth);

}  // namespace ib::invoice::detail
