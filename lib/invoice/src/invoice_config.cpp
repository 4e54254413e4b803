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
  }
  return "?";
}

std::optional<LinesFormat> parse_lines_format(std::string_view name) {
  if (name == "omit") return LinesFormat::omit;
  if (name == "json_string") return LinesFormat::json_string;
  if (name == "nested_array") return LinesFormat::nested_array;
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
  if (!is_property_name(entity_set))
    p.emplace_back("mapping.entity_set: must be a non-empty OData identifier (letters, digits, _)");
  std::set<std::string> names;
  auto check = [&](const std::string& value, const char* key, bool required) {
    if (value.empty()) {
      if (required) p.emplace_back(std::string("mapping.") + key + ": required");
      return;
    }
    if (!is_property_name(value)) {
      p.emplace_back(std::string("mapping.") + key + ": '" + value +
                     "' is not a property name (letters, digits, _, @, .)");
      return;
    }
    if (!names.insert(value).second)
      p.emplace_back(std::string("mapping.") + key + ": property '" + value + "' is mapped twice");
  };
  check(vendor_account_property, "vendor_account_property", true);
  check(invoice_number_property, "invoice_number_property", true);
  check(company_property, "company_property", false);
  check(invoice_date_property, "invoice_date_property", false);
  check(due_date_property, "due_date_property", false);
  check(currency_property, "currency_property", false);
  check(amount_property, "amount_property", true);
  check(tax_property, "tax_property", false);
  check(description_property, "description_property", false);
  check(lines_property, "lines_property", lines_format != LinesFormat::omit);
  for (std::size_t i = 0; i < extra_properties.size(); ++i) {
    const auto key = "extra_properties[" + std::to_string(i) + "]";
    if (extra_properties[i].first.empty()) p.emplace_back("mapping." + key + ": empty free-field key");
    check(extra_properties[i].second, key.c_str(), true);
  }
  for (std::size_t i = 0; i < fixed_properties.size(); ++i) {
    const auto key = "fixed_properties[" + std::to_string(i) + "]";
    check(fixed_properties[i].first, key.c_str(), true);
    boost::system::error_code ec;
    auto v = boost::json::parse(fixed_properties[i].second, ec);
    if (ec) {
      p.emplace_back("mapping." + key + ": value is not JSON: " + fixed_properties[i].second);
    } else if (v.is_object() || v.is_array()) {
      p.emplace_back("mapping." + key + ": value must be a JSON scalar");
    }
  }
  if (key_properties.empty()) p.emplace_back("mapping.key_properties: at least one property");
  std::set<std::string> key_seen;
  for (const auto& k : key_properties) {
    if (!key_seen.insert(k).second) p.emplace_back("mapping.key_properties: '" + k + "' listed twice");
    const bool string_valued = k == vendor_account_property || k == invoice_number_property ||
                               (!company_property.empty() && k == company_property);
    bool fixed = false;
    for (const auto& [name, value] : fixed_properties) {
      if (name == k) fixed = true;
    }
    if (!string_valued && !fixed)
      p.emplace_back("mapping.key_properties: '" + k +
                     "' is neither the vendor account, invoice number or company property nor a fixed property");
  }
  return p;
}

}  // namespace ib::invoice
