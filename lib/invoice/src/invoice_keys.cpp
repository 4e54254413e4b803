#include "invoice/invoice_keys.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace ib::invoice {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string key_part(std::string_view s, KeyCase key_case) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  std::string out;
  out.reserve(e - b + 4);
  for (std::size_t i = b; i < e; ++i) {
    char c = s[i];
    if (key_case == KeyCase::upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (key_case == KeyCase::lower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '\\' || c == '|') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Length-prefixed field, so no value can imitate a separator.
void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += '=';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

std::string sha256_hex(std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

}  // namespace

std::string dedup_key(const Invoice& invoice, const KeyConfig& config) {
  std::string key;
  if (config.include_company) {
    key = key_part(invoice.company, config.key_case);
    key += '|';
  }
  key += key_part(invoice.vendor_account, config.key_case);
  key += '|';
  key += key_part(invoice.invoice_number, config.key_case);
  return key;
}

std::string fingerprint(const Invoice& invoice) {
  std::string canon = "ib-fingerprint-v1\n";
  field(canon, "currency", invoice.currency);
  field(canon, "amount", invoice.amount.to_string());
  field(canon, "tax", invoice.tax ? invoice.tax->to_string() : std::string("-"));
  field(canon, "invoice_date", invoice.invoice_date.to_string());
  field(canon, "due_date", invoice.due_date ? invoice.due_date->to_string() : std::string("-"));
  std::vector<std::string> lines;
  lines.reserve(invoice.lines.size());
  for (const auto& l : invoice.lines) {
    std::string s;
    field(s, "amount", l.amount.to_string());
    field(s, "quantity", l.quantity ? l.quantity->to_string() : std::string("-"));
    field(s, "unit_price", l.unit_price ? l.unit_price->to_string() : std::string("-"));
    field(s, "item", l.item);
    lines.push_back(std::move(s));
  }
  std::sort(lines.begin(), lines.end());
  field(canon, "lines", std::to_string(lines.size()));
  for (const auto& l : lines) field(canon, "line", l);
  return sha256_hex(canon);
}

std::string header_reference(std::string_view dedup_key) {
  std::string hex = sha256_hex(dedup_key).substr(0, 18);
  for (char& c : hex)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  return "IB" + hex;
}

}  // namespace ib::invoice
