#include "invoice/invoice_codec.hpp"

#include "json_tree.hpp"
#include "proto_tree.hpp"

#include <algorithm>
#include <set>

namespace ib::invoice {
namespace {

using detail::JNode;
using Kind = JNode::Kind;

std::string quoted(std::string_view s) {
  std::string out = "\"";
  // Cut at 40 bytes, but never inside a UTF-8 sequence (the message must stay valid UTF-8).
  std::size_t n = std::min<std::size_t>(s.size(), 40);
  while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out += "?";
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > n) out += "...";
  return out + "\"";
}

// A free-form field name (an `extra` key) as it appears in a refusal message: one line of
// valid UTF-8 whatever the key's bytes. Control bytes, and every byte >= 0x80 when the key
// is not valid UTF-8, become \xNN; long keys are cut at 64 bytes with "...".
std::string field_label(std::string_view key) {
  static constexpr char hex[] = "0123456789abcdef";
  const bool utf8 = is_valid_utf8(key, nullptr);
  const std::size_t n = std::min<std::size_t>(key.size(), 64);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && (!utf8 || n < key.size()))) {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (key.size() > n) out += "...";
  return out;
}

std::string describe(const JNode& n) {
  switch (n.kind) {
    case Kind::null: return "null";
    case Kind::boolean: return n.boolean ? "true" : "false";
    case Kind::number: return "number " + std::string(n.text.substr(0, 40));
    case Kind::string: return "string " + quoted(n.text);
    case Kind::array: return "an array";
    case Kind::object: return "an object";
  }
  return "?";
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

/// Reads the fields of one JSON object, remembering which were used.
class Fields {
public:
  Fields(const JNode& obj, std::string prefix, const DecodeConfig& cfg)
      : obj_(obj), prefix_(std::move(prefix)), cfg_(cfg) {}

  std::string path(std::string_view name) const { return prefix_ + std::string(name); }

  /// The member, or nullptr when absent or null.
  const JNode* find(std::string_view name) {
    known_.insert(std::string(name));
    for (const auto& [k, v] : obj_.members) {
      if (k == name) return v.kind == Kind::null ? nullptr : &v;
    }
    return nullptr;
  }

  Result<std::optional<std::string>> string(std::string_view name, bool key_field) {
    const JNode* n = find(name);
    if (!n) return std::optional<std::string>{};
    if (n->kind != Kind::string)
      return Error{path(name) + ": expected a string, got " + describe(*n)};
    if (n->text.size() > cfg_.max_string_bytes)
      return Error{path(name) + ": " + std::to_string(n->text.size()) + " bytes exceeds the limit of " +
                   std::to_string(cfg_.max_string_bytes)};
    auto t = trim(n->text);
    if (key_field) {
      for (unsigned char c : t) {
        if (c < 0x20 || c == 0x7f) return Error{path(name) + ": contains a control character"};
      }
    }
    return std::optional<std::string>(std::move(t));
  }

  Result<std::string> required_string(std::string_view name, bool key_field) {
    auto r = string(name, key_field);
    if (!r) return r.error();
    if (!*r) return Error{path(name) + ": missing"};
    if ((*r)->empty()) return Error{path(name) + ": empty"};
    return Result<std::string>(boost::system::in_place_value, std::move(**r));
  }

  Result<std::optional<Decimal>> decimal(std::string_view name) {
    const JNode* n = find(name);
    if (!n) return std::optional<Decimal>{};
    if (n->kind != Kind::number && n->kind != Kind::string)
      return Error{path(name) + ": expected a decimal number, got " + describe(*n)};
    auto d = Decimal::parse(n->kind == Kind::string ? trim(n->text) : n->text);
    if (!d) {
      if (n->kind == Kind::string)
        return Error{path(name) + ": expected a decimal number, got " + describe(*n)};
      return Error{path(name) + ": " + d.error().message};
    }
    return std::optional<Decimal>(*d);
  }

  Result<Decimal> required_decimal(std::string_view name) {
    auto r = decimal(name);
    if (!r) return r.error();
    if (!*r) return Error{path(name) + ": missing"};
    return **r;
  }

  Result<std::optional<Date>> date(std::string_view name) {
    const JNode* n = find(name);
    if (!n) return std::optional<Date>{};
    if (n->kind != Kind::string)
      return Error{path(name) + ": expected a date yyyy-mm-dd, got " + describe(*n)};
    auto d = Date::parse(trim(n->text));
    if (!d) return Error{path(name) + ": " + d.error().message + ", got " + describe(*n)};
    return std::optional<Date>(*d);
  }

  /// The first member the schema does not know (after all find() calls), if any, as a
  /// label for a message (field_label).
  std::optional<std::string> unknown() const {
    for (const auto& [k, v] : obj_.members) {
      if (!known_.contains(k)) return field_label(k);
    }
    return std::nullopt;
  }

  /// The first member name that appears twice, if any, as a label for a message.
  std::optional<std::string> duplicate() const {
    std::set<std::string_view> seen;
    for (const auto& [k, v] : obj_.members) {
      if (!seen.insert(k).second) return field_label(k);
    }
    return std::nullopt;
  }

private:
  const JNode& obj_;
  std::string prefix_;
  const DecodeConfig& cfg_;
  std::set<std::string, std::less<>> known_;
};

#define IB_TRY(var, expr)             \
  auto var##_r = (expr);              \
  if (!var##_r) return var##_r.error(); \
  auto var = std::move(*var##_r)

Result<InvoiceLine> decode_line(const JNode& node, const std::string& prefix, const DecodeConfig& cfg) {
  if (node.kind != Kind::object)
    return Error{prefix.substr(0, prefix.size() - 1) + ": expected an object, got " + describe(node)};
  Fields f(node, prefix, cfg);
  if (auto d = f.duplicate()) return Error{f.path(*d) + ": duplicate field"};
  InvoiceLine line;
  {
    const JNode* n = f.find("line_number");
    if (n && n->kind == Kind::number) {
      line.line_number = n->text;
    } else {
      IB_TRY(v, f.string("line_number", false));
      if (v) line.line_number = *v;
    }
  }
  IB_TRY(desc, f.string("description", false));
  if (desc) line.description = *desc;
  IB_TRY(item, f.string("item", false));
  if (item) line.item = *item;
  IB_TRY(q, f.decimal("quantity"));
  line.quantity = q;
  IB_TRY(up, f.decimal("unit_price"));
  line.unit_price = up;
  IB_TRY(amount, f.required_decimal("amount"));
  line.amount = amount;
  if (cfg.reject_unknown_fields) {
    if (auto u = f.unknown()) return Error{f.path(*u) + ": unknown field"};
  }
  return line;
}

Result<Invoice> decode_tree(const JNode& root, const DecodeConfig& cfg) {
  if (root.kind != Kind::object) return Error{"payload: expected a JSON object, got " + describe(root)};
  Fields f(root, "", cfg);
  if (auto d = f.duplicate()) return Error{*d + ": duplicate field"};
  Invoice inv;
  IB_TRY(vendor, f.required_string("vendor_account", true));
  inv.vendor_account = std::move(vendor);
  IB_TRY(number, f.required_string("invoice_number", true));
  inv.invoice_number = std::move(number);
  IB_TRY(company, f.string("company", true));
  if (company && !company->empty()) {
    inv.company = std::move(*company);
  } else if (!cfg.default_company.empty()) {
    inv.company = cfg.default_company;
  } else {
    return Error{company ? "company: empty" : "company: missing"};
  }
  IB_TRY(invoice_date, f.date("invoice_date"));
  if (!invoice_date) return Error{"invoice_date: missing"};
  inv.invoice_date = *invoice_date;
  IB_TRY(due, f.date("due_date"));
  inv.due_date = due;
  IB_TRY(currency, f.required_string("currency", false));
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      }))
    return Error{"currency: expected an ISO 4217 code (3 letters), got " + quoted(currency)};
  for (auto& c : currency) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  inv.currency = std::move(currency);
  IB_TRY(amount, f.required_decimal("amount"));
  inv.amount = amount;
  IB_TRY(tax, f.decimal("tax"));
  inv.tax = tax;
  IB_TRY(desc, f.string("description", false));
  if (desc) inv.description = std::move(*desc);

  if (const JNode* lines = f.find("lines")) {
    if (lines->kind != Kind::array) return Error{"lines: expected an array, got " + describe(*lines)};
    if (lines->items.size() > cfg.max_lines)
      return Error{"lines: " + std::to_string(lines->items.size()) + " lines exceeds the limit of " +
                   std::to_string(cfg.max_lines)};
    inv.lines.reserve(lines->items.size());
    for (std::size_t i = 0; i < lines->items.size(); ++i) {
      IB_TRY(line, decode_line(lines->items[i], "lines[" + std::to_string(i) + "].", cfg));
      inv.lines.push_back(std::move(line));
    }
  }
  if (const JNode* extra = f.find("extra")) {
    if (extra->kind != Kind::object) return Error{"extra: expected an object, got " + describe(*extra)};
    if (extra->members.size() > cfg.max_extra_fields)
      return Error{"extra: " + std::to_string(extra->members.size()) + " fields exceeds the limit of " +
                   std::to_string(cfg.max_extra_fields)};
    for (const auto& [k, v] : extra->members) {
      const std::string p = "extra." + field_label(k);
      if (k.empty() || k.size() > cfg.max_string_bytes) return Error{"extra: bad key " + quoted(k)};
      FreeValue fv;
      switch (v.kind) {
        case Kind::null: continue;
        case Kind::string:
          if (v.text.size() > cfg.max_string_bytes)
            return Error{p + ": " + std::to_string(v.text.size()) + " bytes exceeds the limit of " +
                         std::to_string(cfg.max_string_bytes)};
          fv.kind = FreeValue::Kind::string;
          fv.text = v.text;
          break;
        case Kind::number: {
          auto d = Decimal::parse(v.text);
          if (!d) return Error{p + ": " + d.error().message};
          fv.kind = FreeValue::Kind::number;
          fv.text = d->to_string();
          break;
        }
        case Kind::boolean:
          fv.kind = FreeValue::Kind::boolean;
          fv.text = v.boolean ? "true" : "false";
          break;
        default: return Error{p + ": expected a string, number or boolean, got " + describe(v)};
      }
      inv.extra.emplace_back(k, std::move(fv));
    }
    std::sort(inv.extra.begin(), inv.extra.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < inv.extra.size(); ++i) {
      if (inv.extra[i].first == inv.extra[i - 1].first)
        return Error{"extra." + field_label(inv.extra[i].first) + ": duplicate field"};
    }
  }
  if (cfg.reject_unknown_fields) {
    if (auto u = f.unknown()) return Error{*u + ": unknown field"};
  }
  return inv;
}

#undef IB_TRY

Result<void> check_payload(std::string_view payload, const DecodeConfig& cfg) {
  if (payload.size() > cfg.max_payload_bytes)
    return Error{"payload: " + std::to_string(payload.size()) + " bytes exceeds the limit of " +
                 std::to_string(cfg.max_payload_bytes)};
  if (payload.empty()) return Error{"payload: empty"};
  return {};
}

}  // namespace

bool is_valid_utf8(std::string_view s, std::size_t* bad_at) {
  std::size_t i = 0;
  const auto fail = [&] {
    if (bad_at) *bad_at = i;
    return false;
  };
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return fail();
    }
    if (i + static_cast<std::size_t>(len) > s.size()) return fail();
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return fail();
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return fail();
    i += static_cast<std::size_t>(len);
  }
  return true;
}

Result<Invoice> decode_json(std::string_view payload, const DecodeConfig& cfg) {
  if (auto c = check_payload(payload, cfg); !c) return c.error();
  std::size_t bad = 0;
  if (!is_valid_utf8(payload, &bad)) return Error{"payload: invalid UTF-8 at byte " + std::to_string(bad)};
  auto tree = detail::parse_json_tree(payload, cfg.max_json_depth);
  if (!tree) return Error{"payload: " + tree.error().message};
  return decode_tree(*tree, cfg);
}

Result<Invoice> decode_protobuf(std::string_view payload, const DecodeConfig& cfg) {
  if (auto c = check_payload(payload, cfg); !c) return c.error();
  auto tree = detail::protobuf_tree(payload);
  if (!tree) return Error{"payload: " + tree.error().message};
  // Strings inside the message must be UTF-8 too (proto3 requires it; check ours).
  std::size_t bad = 0;
  auto check = [&](const std::string& s, const std::string& name) -> Result<void> {
    if (!is_valid_utf8(s, &bad)) return Error{name + ": invalid UTF-8 at byte " + std::to_string(bad)};
    return {};
  };
  for (const auto& [k, v] : tree->members) {
    if (v.kind == Kind::string) {
      if (auto r = check(v.text, k); !r) return r.error();
    }
    if (v.kind == Kind::object) {
      for (const auto& [k2, v2] : v.members) {
        if (auto r = check(k2, k); !r) return r.error();
        if (auto r = check(v2.text, k + "." + field_label(k2)); !r) return r.error();
      }
    }
    if (v.kind == Kind::array) {
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        for (const auto& [k2, v2] : v.items[i].members) {
          if (auto r = check(v2.text, k + "[" + std::to_string(i) + "]." + k2); !r) return r.error();
        }
      }
    }
  }
  return decode_tree(*tree, cfg);
}

Result<Invoice> decode(std::string_view payload, const DecodeConfig& cfg) {
  switch (cfg.format) {
    case PayloadFormat::json: return decode_json(payload, cfg);
    case PayloadFormat::protobuf: return decode_protobuf(payload, cfg);
    case PayloadFormat::detect: {
      std::size_t i = 0;
      while (i < payload.size() && is_space(payload[i])) ++i;
      if (i < payload.size() && payload[i] == '{') return decode_json(payload, cfg);
      return decode_protobuf(payload, cfg);
    }
  }
  return Error{"payload: unknown format"};
}

}  // namespace ib::invoice
