#include "invoice/invoice_config.hpp"

#include <boost/json/parse.hpp>

#include <set>

namespace ib::invoice {

std::string_view to_string(PayloadFormat f) {
  switch (f) {
    case PayloadFormat::json: return "json";
    case PayloadFormat::protobuf: return "protobuf";
    case PayloadFormat::detect: return "detect";
  }
  return "?";
}

std::optional<PayloadFormat> parse_payload_format(std::string_view name) {
  if (name == "json") return PayloadFormat::json;
  if (name == "protobuf") return PayloadFormat::protobuf;
  if (name == "detect") return PayloadFormat::detect;
  return std::nullopt;
}

std::string_view to_string(KeyCase c) {
  switch (c) {
    case KeyCase::preserve: return "preserve";
    case KeyCase::upper: return "upper";
    case KeyCase::lower: return "lower";
  }
  return "?";
}

std::optional<KeyCase> parse_key_case(std::string_view name) {
  if (name == "preserve") return KeyCase::preserve;
  if (name == "upper") return KeyCase::upper;
  if (name == "lower") return KeyCase::lower;
  return std::nullopt;
}

std::string_view to_string(LinesFormat f) {
  switch (f) {
    case LinesFormat::omit: return "omit";
    case LinesFormat::json_string: return "json_string";
    case LinesFormat::nested_array: return "nested_array";
    case LinesFormat::entities: return "entities";
  }
  return "?";
}

std::optional<LinesFormat> parse_lines_format(std::string_view name) {
  if (name == "omit") return LinesFormat::omit;
  if (name == "json_string") return LinesFormat::json_string;
  if (name == "nested_array") return LinesFormat::nested_array;
  if (name == "entities") return LinesFormat::entities;
  return std::nullopt;
}

std::vector<std::string> DecodeConfig::validate() const {
  std::vector<std::string> p;
  if (max_payload_bytes == 0) p.emplace_back("invoice.max_payload_bytes: must be > 0");
  if (max_payload_bytes > (256u << 20))
    p.emplace_back("invoice.max_payload_bytes: must be <= 268435456 (256 MiB)");
  if (max_lines == 0) p.emplace_back("invoice.max_lines: must be > 0");
  if (max_string_bytes == 0) p.emplace_back("invoice.max_string_bytes: must be > 0");
  if (max_json_depth < 3) p.emplace_back("invoice.max_json_depth: must be >= 3 (invoice, lines, line)");
  if (max_json_depth > 1000) p.emplace_back("invoice.max_json_depth: must be <= 1000");
  if (default_company.size() > max_string_bytes)
    p.emplace_back("invoice.default_company: longer than invoice.max_string_bytes");
  return p;
}

std::vector<std::string> KeyConfig::validate() const { return {}; }

namespace {

bool is_property_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '@' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> MappingConfig::validate() const {
  std::vector<std::string> p;
  const bool entities = lines_format == LinesFormat::entities;
  if (!is_property_name(entity_set))
    p.emplace_back("mapping.entity_set: must be a non-empty OData identifier (letters, digits, _)");
  // Property names of one record must be distinct: `names` for the header, `line_names`
  // for a line record (which also carries the company and header reference properties).
  std::set<std::string> names;
  std::set<std::string> line_names;
  auto check_in = [&](std::set<std::string>& seen, const std::string& value, const std::string& key,
                      bool required, const char* why_required, const char* why_twice = "") {
    if (value.empty()) {
      if (required) p.emplace_back("mapping." + key + ": required" + why_required);
      return;
    }
    if (!is_property_name(value)) {
      p.emplace_back("mapping." + key + ": '" + value + "' is not a property name (letters, digits, _, @, .)");
      return;
    }
    if (!seen.insert(value).second)
      p.emplace_back("mapping." + key + ": property '" + value + "' is mapped twice" + why_twice);
  };
  auto check = [&](const std::string& value, const std::string& key, bool required, const char* why = "") {
    check_in(names, value, key, required, why);
  };
  check(vendor_account_property, "vendor_account_property", true);
  check(invoice_number_property, "invoice_number_property", true);
  check(company_property, "company_property", false);
  check(header_reference_property, "header_reference_property", entities,
        " with lines_format entities (the line records find their header by it)");
  check(invoice_date_property, "invoice_date_property", false);
  check(due_date_property, "due_date_property", false);
  check(currency_property, "currency_property", false);
  check(amount_property, "amount_property", !entities,
        " (only lines_format entities may leave it empty: its lines carry the amounts)");
  check(tax_property, "tax_property", false);
  check(description_property, "description_property", false);
  if (lines_format == LinesFormat::json_string || lines_format == LinesFormat::nested_array)
    check(lines_property, "lines_property", true, " with lines_format json_string or nested_array");
  for (std::size_t i = 0; i < extra_properties.size(); ++i) {
    const auto key = "extra_properties[" + std::to_string(i) + "]";
    if (extra_properties[i].first.empty()) p.emplace_back("mapping." + key + ": empty free-field key");
    check(extra_properties[i].second, key, true);
  }
  for (std::size_t i = 0; i < fixed_properties.size(); ++i) {
    const auto key = "fixed_properties[" + std::to_string(i) + "]";
    check(fixed_properties[i].first, key, true);
    boost::system::error_code ec;
    auto v = boost::json::parse(fixed_properties[i].second, ec);
    if (ec) {
      p.emplace_back("mapping." + key + ": value is not JSON: " + fixed_properties[i].second);
    } else if (v.is_object() || v.is_array()) {
      p.emplace_back("mapping." + key + ": value must be a JSON scalar");
    }
  }
  if (entities) {
    if (lines_entity_set.empty()) {
      p.emplace_back("mapping.lines_entity_set: required with lines_format entities (the lines' entity set, "
                     "e.g. VendorInvoiceLines)");
    } else if (!is_property_name(lines_entity_set)) {
      p.emplace_back("mapping.lines_entity_set: '" + lines_entity_set +
                     "' is not an OData identifier (letters, digits, _)");
    } else if (lines_entity_set == entity_set) {
      p.emplace_back("mapping.lines_entity_set: must differ from mapping.entity_set ('" + entity_set + "')");
    }
    if (!company_property.empty() && is_property_name(company_property)) line_names.insert(company_property);
    if (is_property_name(header_reference_property)) line_names.insert(header_reference_property);
    auto line = [&](const std::string& value, const char* key, bool required) {
      check_in(line_names, value, key, required, " with lines_format entities",
               " in a line record (which also carries the company and header reference properties)");
    };
    line(line_number_property, "line_number_property", true);
    line(line_item_property, "line_item_property", false);
    line(line_description_property, "line_description_property", false);
    line(line_quantity_property, "line_quantity_property", false);
    line(line_unit_price_property, "line_unit_price_property", false);
    line(line_amount_property, "line_amount_property", true);
  }
  if (key_properties.empty()) p.emplace_back("mapping.key_properties: at least one property");
  std::set<std::string> key_seen;
  for (const auto& k : key_properties) {
    if (!key_seen.insert(k).second) p.emplace_back("mapping.key_properties: '" + k + "' listed twice");
    const bool string_valued = k == vendor_account_property || k == invoice_number_property ||
                               (!company_property.empty() && k == company_property) ||
                               (!header_reference_property.empty() && k == header_reference_property);
    bool fixed = false;
    for (const auto& [name, value] : fixed_properties) {
      if (name == k) fixed = true;
    }
    if (!string_valued && !fixed)
      p.emplace_back("mapping.key_properties: '" + k +
                     "' is neither the vendor account, invoice number, company or header reference property "
                     "nor a fixed property");
  }
  return p;
}

}  // namespace ib::invoice
