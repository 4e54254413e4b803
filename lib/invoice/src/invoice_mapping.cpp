#include "invoice/invoice_mapping.hpp"

#include "invoice/invoice_keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace ib::invoice {
namespace {

std::string json_string(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

class ObjectWriter {
public:
  void raw(std::string_view name, std::string_view json_value) {
    out_ += first_ ? "{" : ",";
    first_ = false;
    out_ += json_string(name);
    out_ += ':';
    out_ += json_value;
  }
  void str(std::string_view name, std::string_view value) { raw(name, json_string(value)); }
  void dec(std::string_view name, const Decimal& d, bool as_string) {
    raw(name, as_string ? json_string(d.to_string()) : d.to_string());
  }
  std::string done() { return first_ ? "{}" : out_ + "}"; }

private:
  std::string out_;
  bool first_ = true;
};

}  // namespace

std::string lines_json(const Invoice& invoice, bool decimals_as_strings) {
  std::string out = "[";
  for (std::size_t i = 0; i < invoice.lines.size(); ++i) {
    const auto& l = invoice.lines[i];
    ObjectWriter w;
    if (!l.line_number.empty()) w.str("LineNumber", l.line_number);
    if (!l.description.empty()) w.str("Description", l.description);
    if (!l.item.empty()) w.str("Item", l.item);
    if (l.quantity) w.dec("Quantity", *l.quantity, decimals_as_strings);
    if (l.unit_price) w.dec("UnitPrice", *l.unit_price, decimals_as_strings);
    w.dec("Amount", l.amount, decimals_as_strings);
    if (i) out += ',';
    out += w.done();
  }
  return out + "]";
}

MappedInvoice map_invoice(const Invoice& inv, const MappingConfig& c, std::string_view dedup_key) {
  MappedInvoice m;
  m.entity_set = c.entity_set;
  ObjectWriter w;
  const bool ds = c.decimals_as_strings;
  const std::string reference = c.header_reference_property.empty() ? std::string() : header_reference(dedup_key);
  w.str(c.vendor_account_property, inv.vendor_account);
  w.str(c.invoice_number_property, inv.invoice_number);
  if (!c.company_property.empty()) w.str(c.company_property, inv.company);
  if (!c.header_reference_property.empty()) w.str(c.header_reference_property, reference);
  if (!c.invoice_date_property.empty()) w.str(c.invoice_date_property, inv.invoice_date.to_string());
  if (!c.due_date_property.empty() && inv.due_date) w.str(c.due_date_property, inv.due_date->to_string());
  if (!c.currency_property.empty()) w.str(c.currency_property, inv.currency);
  if (!c.amount_property.empty()) w.dec(c.amount_property, inv.amount, ds);
  if (!c.tax_property.empty() && inv.tax) w.dec(c.tax_property, *inv.tax, ds);
  if (!c.description_property.empty() && !inv.description.empty())
    w.str(c.description_property, inv.description);
  if (c.lines_format == LinesFormat::json_string) w.str(c.lines_property, lines_json(inv, ds));
  if (c.lines_format == LinesFormat::nested_array) w.raw(c.lines_property, lines_json(inv, ds));
  if (c.lines_format == LinesFormat::entities) {
    m.lines.reserve(inv.lines.size());
    for (std::size_t i = 0; i < inv.lines.size(); ++i) {
      const auto& l = inv.lines[i];
      ObjectWriter lw;
      if (!c.company_property.empty()) lw.str(c.company_property, inv.company);
      lw.str(c.header_reference_property, reference);
      lw.raw(c.line_number_property, std::to_string(i + 1));
      if (!c.line_item_property.empty() && !l.item.empty()) lw.str(c.line_item_property, l.item);
      if (!c.line_description_property.empty() && !l.description.empty())
        lw.str(c.line_description_property, l.description);
      if (!c.line_quantity_property.empty() && l.quantity) lw.dec(c.line_quantity_property, *l.quantity, ds);
      if (!c.line_unit_price_property.empty() && l.unit_price)
        lw.dec(c.line_unit_price_property, *l.unit_price, ds);
      lw.dec(c.line_amount_property, l.amount, ds);
      m.lines.push_back(MappedLine{c.lines_entity_set, lw.done()});
    }
  }
  for (const auto& [key, property] : c.extra_properties) {
    for (const auto& [k, v] : inv.extra) {
      if (k != key) continue;
      if (v.kind == FreeValue::Kind::string) {
        w.str(property, v.text);
      } else if (v.kind == FreeValue::Kind::number && ds) {
        w.str(property, v.text);
      } else {
        w.raw(property, v.text);
      }
    }
  }
  for (const auto& [property, value] : c.fixed_properties) w.raw(property, value);
  m.body = w.done();

  for (const auto& k : c.key_properties) {
    std::string value;
    if (k == c.vendor_account_property) {
      value = inv.vendor_account;
    } else if (k == c.invoice_number_property) {
      value = inv.invoice_number;
    } else if (!c.company_property.empty() && k == c.company_property) {
      value = inv.company;
    } else if (!c.header_reference_property.empty() && k == c.header_reference_property) {
      value = reference;
    } else {
      for (const auto& [property, json] : c.fixed_properties) {
        if (property != k) continue;
        boost::system::error_code ec;
        auto v = boost::json::parse(json, ec);
        if (!ec && v.is_string()) {
          value = std::string(v.get_string());
        } else {
          value = json;
        }
      }
    }
    m.key.emplace_back(k, std::move(value));
  }
  return m;
}

}  // namespace ib::invoice
