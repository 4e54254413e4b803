#pragma once

// OData URL pieces the simulator understands: the resource path with its key predicate,
// and the system query options $filter, $select, $top, $skip, $count.

#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::sim {

struct ResourcePath {
  std::string entity_set;
  bool has_key = false;
  /// (name, value) pairs; name empty for an unnamed single value (`Set('x')`, `Set(guid)`).
  std::vector<std::pair<std::string, std::string>> key;
  /// Per key value: it was a quoted string literal (an integer key's literal is not).
  std::vector<bool> key_quoted;
  /// The single unnamed value was a bare GUID (primary id addressing).
  bool key_is_guid = false;
  /// `Set/$count`
  bool count_segment = false;
};

/// Parses a percent-decoded path relative to the service root; returns an error or "".
std::string parse_resource_path(std::string_view decoded, ResourcePath& out);

/// A compiled $filter expression.
class Filter {
public:
  using Getter = std::function<const boost::json::value*(std::string_view property)>;
  virtual ~Filter() = default;
  virtual bool matches(const Getter& get) const = 0;
};

struct QueryOptions {
  std::shared_ptr<Filter> filter;
  std::optional<std::vector<std::string>> select;
  std::optional<std::size_t> top;
  std::optional<std::size_t> skip;
  bool count = false;
  /// `cross-company=true` (Finance and Operations): every company's records.
  bool cross_company = false;
};

/// Parses the raw (percent-encoded) query string; returns an error or "".
std::string parse_query_options(std::string_view raw_query, QueryOptions& out);

/// Compiles a $filter expression (eq ne gt ge lt le, and, or, not, parentheses).
std::shared_ptr<Filter> parse_filter(std::string_view text, std::string& error);

}  // namespace ib::sim
