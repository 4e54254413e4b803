#include "json_tree.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <utility>

namespace ib::invoice::detail {
namespace {

using boost::json::string_view;
using boost::system::error_code;

struct TreeHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<JNode> stack;
  std::vector<std::string> keys;
  std::string buf;
  std::string key_buf;
  std::string num_buf;
  JNode root;

  void emit(JNode&& n) {
    if (stack.empty()) {
      root = std::move(n);
      return;
    }
    JNode& top = stack.back();
    if (top.kind == JNode::Kind::array) {
      top.items.push_back(std::move(n));
    } else {
      top.members.push_back(JMember{std::move(keys.back()), std::move(n)});
      keys.pop_back();
    }
  }
  void open(JNode::Kind k) {
    JNode n;
    n.kind = k;
    stack.push_back(std::move(n));
  }
  void close() {
    JNode n = std::move(stack.back());
    stack.pop_back();
    emit(std::move(n));
  }
  void number() {
    JNode n;
    n.kind = JNode::Kind::number;
    n.text = std::move(num_buf);
    num_buf.clear();
    emit(std::move(n));
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { open(JNode::Kind::array); return true; }
  bool on_array_end(std::size_t, error_code&) { close(); return true; }
  bool on_object_begin(error_code&) { open(JNode::Kind::object); return true; }
  bool on_object_end(std::size_t, error_code&) { close(); return true; }
  bool on_string_part(string_view s, std::size_t, error_code&) { buf.append(s.data(), s.size()); return true; }
  bool on_string(string_view s, std::size_t, error_code&) {
    buf.append(s.data(), s.size());
    JNode n;
    n.kind = JNode::Kind::string;
    n.text = std::move(buf);
    buf.clear();
    emit(std::move(n));
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) { key_buf.append(s.data(), s.size()); return true; }
  bool on_key(string_view s, std::size_t, error_code&) {
    key_buf.append(s.data(), s.size());
    keys.push_back(std::move(key_buf));
    key_buf.clear();
    return true;
  }
  bool on_number_part(string_view s, error_code&) { num_buf.append(s.data(), s.size()); return true; }
  bool on_int64(std::int64_t, string_view s, error_code&) { num_buf.append(s.data(), s.size()); number(); return true; }
  bool on_uint64(std::uint64_t, string_view s, error_code&) { num_buf.append(s.data(), s.size()); number(); return true; }
  bool on_double(double, string_view s, error_code&) { num_buf.append(s.data(), s.size()); number(); return true; }
  bool on_bool(bool b, error_code&) {
    JNode n;
    n.kind = JNode::Kind::boolean;
    n.boolean = b;
    emit(std::move(n));
    return true;
  }
  bool on_null(error_code&) { emit(JNode{}); return true; }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

Result<JNode> parse_json_tree(std::string_view text, std::size_t max_depth) {
  boost::json::parse_options opt;
  opt.max_depth = max_depth;
  boost::json::basic_parser<TreeHandler> p(opt);
  error_code ec;
  const auto n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n != text.size()) ec = boost::json::error::extra_data;
  if (ec) return Error{"not JSON: " + ec.message() + " at byte " + std::to_string(n)};
  return std::move(p.handler().root);
}

}  // namespace ib::invoice::detail
