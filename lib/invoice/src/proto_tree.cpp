#include "proto_tree.hpp"

#include "invoice.pb.h"

#include <limits>
#include <utility>

namespace ib::invoice::detail {
namespace {

void add(JNode& obj, const char* name, const std::string& value) {
  if (value.empty()) return;
  JNode n;
  n.kind = JNode::Kind::string;
  n.text = value;
  obj.members.push_back(JMember{name, std::move(n)});
}

}  // namespace

Result<JNode> protobuf_tree(std::string_view payload) {
  if (payload.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return Error{"too large for protobuf"};
  ib::proto::Invoice msg;
  if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return Error{"not a valid ib.proto.Invoice message"};
  JNode root;
  root.kind = JNode::Kind::object;
  add(root, "vendor_account", msg.vendor_account());
  add(root, "invoice_number", msg.invoice_number());
  add(root, "company", msg.company());
  add(root, "invoice_date", msg.invoice_date());
  add(root, "due_date", msg.due_date());
  add(root, "currency", msg.currency());
  add(root, "amount", msg.amount());
  add(root, "tax", msg.tax());
  add(root, "description", msg.description());
  if (msg.lines_size() > 0) {
    JNode lines;
    lines.kind = JNode::Kind::array;
    for (const auto& l : msg.lines()) {
      JNode line;
      line.kind = JNode::Kind::object;
      add(line, "line_number", l.line_number());
      add(line, "description", l.description());
      add(line, "item", l.item());
      add(line, "quantity", l.quantity());
      add(line, "unit_price", l.unit_price());
      add(line, "amount", l.amount());
      lines.items.push_back(std::move(line));
    }
    root.members.push_back(JMember{"lines", std::move(lines)});
  }
  if (!msg.extra().empty()) {
    JNode extra;
    extra.kind = JNode::Kind::object;
    for (const auto& [k, v] : msg.extra()) {
      JNode n;
      n.kind = JNode::Kind::string;
      n.text = v;
      extra.members.push_back(JMember{k, std::move(n)});
    }
    root.members.push_back(JMember{"extra", std::move(extra)});
  }
  return root;
}

}  // namespace ib::invoice::detail
